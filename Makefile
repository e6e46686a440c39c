# The two commands a newcomer needs:
#   make run    set up, then `ansible-playbook site.yml` (default inventory: localhost)
#   make test   set up, then every check CI runs
#               (make test STEP=lint, or STEP='lint unit': only those steps of scripts/test.sh)
# And one Molecule scenario, with podman, its virtualenv and images set up:
#   make molecule SCENARIO=toolkit-debian13 [MOLECULE_COMMAND=converge]
.PHONY: run test setup molecule

ANSIBLE_ARGS ?=
SCENARIO ?=
STEP ?=
MOLECULE_COMMAND ?= test

run:
	scripts/setup.sh run
	.venv/bin/ansible-playbook site.yml $(ANSIBLE_ARGS)

test:
	scripts/test.sh $(STEP)

setup:
	scripts/setup.sh test

molecule:
	scripts/molecule.sh "$(SCENARIO)" "$(MOLECULE_COMMAND)"
