from hubguard.cli import run

run()
