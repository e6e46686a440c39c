# The two commands a newcomer needs:
#   make run    set up, then `ansible-playbook site.yml` (default inventory: localhost)
#   make test   set up, then every check CI runs
.PHONY: run test setup

ANSIBLE_ARGS ?=

run:
	scripts/setup.sh run
	.venv/bin/ansible-playbook site.yml $(ANSIBLE_ARGS)

test:
	scripts/test.sh

setup:
	scripts/setup.sh test
