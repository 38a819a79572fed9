"""Real servers for tests, started on 127.0.0.1 by fixtures (BIND9 for DNS, ...).

Each module starts one kind of server in a temporary directory, knows how to change its data at
run time the way a real operator would, and stops it; fixtures in the test folders wrap them.
"""
