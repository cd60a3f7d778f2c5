# Entry points. `make demo` and `make test` do all set-up on a fresh Debian 12
# machine (packages, venv) first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
LAB := lab/bin/lvslab
TOPOLOGY ?= lab/topologies/dr.yml
SCENARIOS ?= smoke dr nat tun failover ipv6
# Debian packages: the lab kernel, and what lab hosts (the machine's root,
# seen read-only) run: keepalived, ipvsadm, a web server, pyroute2.
APT_PACKAGES := user-mode-linux kmod keepalived ipvsadm iproute2 iputils-ping arping \
	curl busybox procps python3 python3-pyroute2 python3-netaddr systemd
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.lab/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/lab/bin:$(CURDIR)/$(VENV)/bin:$(PATH)
# The lab package is lab/ (`python -m lab.X` from here; `lvslab run` puts the checkout on
# its command's PYTHONPATH, pytest.ini on pytest's). Tools that read the collection's
# Python code outside pytest (the demo, benchmarks) get .lab/collections too.
COLLECTION_PYTHONPATH := $(CURDIR)/.lab/collections

.PHONY: setup demo lab docs ee test test-unit test-lab test-labs test-harness test-molecule sanity units bench clean

setup: .lab/setup.done

.lab/setup.done: requirements-dev.txt Makefile
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	mkdir -p .lab/collections/ansible_collections/lvs
	ln -sfn ../../../.. .lab/collections/ansible_collections/lvs/cluster
	touch $@

# The main job on the built-in lab: a DR cluster from the example inventory.
demo: export PYTHONPATH := $(COLLECTION_PYTHONPATH)
demo: setup
	$(LAB) run -v -t lab/topologies/dr.yml -- python -m lab.demo

# One command inside the lab kernel, with the topology up: make lab CMD='lvslab exec dir1 -- ipvsadm -Ln'
lab: setup
	$(LAB) run -t $(TOPOLOGY) -- sh -c '$(CMD)'

# The whole suite. The lab parts run in two lanes (two lab kernels, one per
# core); the checks that need no lab (sanity, ansible-test units, lint, unit
# tests) run beside them from the start, while the lab kernels mostly wait.
# A lab job that fails runs once more in a fresh lab kernel (LAB_RERUNS): the
# suite passes only if that rerun passes, and the failed run's log and reasons
# are kept and printed (fail-over timing on a shared one-CPU lab kernel).
LAB_RERUNS ?= 1
test: setup
	$(PY) -m lab.lanes --weights $(LAB_WEIGHTS) --reruns $(LAB_RERUNS) \
	  --side 'checks!: $(MAKE) --no-print-directory sanity units lint test-unit' $(LAB_JOBS)

# Every lab part of the suite (harness, lab tests, systemd hosts, each Molecule
# scenario), in two lanes: two lab kernels side by side, one per core
# (lab/lanes.py). The weights (expected minutes) balance the lanes.
LAB_WEIGHTS ?= systemd=9.3,failover=7.5,lab=5.2,dr=4.7,ipv6=4,lab-keepalived=3.6,tun=3.3,nat=3.3,smoke=1.2,harness=0.5
LAB_JOBS = \
	  'harness!: $(PY) -m pytest -q -p no:cacheprovider --color=no tests/harness' \
	  'lab: -t $(TOPOLOGY) -- python -m pytest -q -p no:cacheprovider --color=no --durations=10 --ignore=tests/lab/test_keepalived_role.py tests/lab' \
	  'lab-keepalived: -t $(TOPOLOGY) -- python -m pytest -q -p no:cacheprovider --color=no --durations=10 tests/lab/test_keepalived_role.py' \
	  'systemd: -t lab/topologies/dr-systemd.yml -- python -m pytest -q -p no:cacheprovider --color=no --durations=10 tests/systemd' \
	  $(foreach s,$(SCENARIOS),'$(s): -- molecule test -s $(s)')
test-labs: setup
	$(PY) -m lab.lanes --weights $(LAB_WEIGHTS) --reruns $(LAB_RERUNS) $(LAB_JOBS)

# The harness itself (boots its own small labs): SIGTERM, boot failure, line
# stress, a checkout under /tmp, no write outside the output folder.
test-harness: setup
	$(PY) -m pytest -q -p no:cacheprovider --color=no tests/harness

# The collection's reference, by antsibull-docs from the built and installed
# tarball (docs/build.sh): docs/reference/ (committed) and the HTML site .lab/docs/html.
docs: setup
	docs/build.sh

# The execution environment's build context (execution-environment.yml, ansible-builder
# create) in .lab/ee/context, with the collection's tarball; building the image from
# it needs podman or docker.
ee: setup
	rm -rf .lab/ee && mkdir -p .lab/ee
	ansible-galaxy collection build --output-path .lab/ee .
	mv .lab/ee/lvs-cluster-*.tar.gz .lab/ee/lvs-cluster.tar.gz
	ansible-builder create -f execution-environment.yml -c .lab/ee/context --output-filename Containerfile

# ansible-lint, production profile, on roles and playbooks (.ansible-lint).
lint: setup
	$(VENV)/bin/ansible-lint roles/ playbooks/

test-unit: setup
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

# ansible-test sanity on a copy of the collection at .lab/sanity/ansible_collections/lvs/cluster
sanity: setup
	tests/sanity.sh

# ansible-test units: the pure-logic unit tests, from the same copy.
units: setup
	tests/sanity.sh units

test-lab: setup
	$(LAB) run -v -t $(TOPOLOGY) -- python -m pytest -q -p no:cacheprovider --color=no tests/lab

test-molecule: setup
	@for s in $(SCENARIOS); do \
	  echo "== molecule test -s $$s"; \
	  $(LAB) run -v -- molecule test -s $$s || exit $$?; \
	done

# Benchmarks (docs/benchmarks.md): the lab's speed for the controller, the bulk
# IPVS table against ipvsadm-restore, a 1,000-service cluster by site.yml and a
# keepalived reload of 2,000 virtual servers (one lab per path), then the fail-over
# figures, one lab per cluster.
BENCH_CLUSTERS ?= dr nat
BENCH_LARGE ?= keepalived ipvs_table
# sizes at which the bulk benchmark also times a one-task playbook (Ansible's share)
BENCH_PLAYBOOK ?= 1000
bench: export PYTHONPATH := $(COLLECTION_PYTHONPATH)
bench: setup
	@rc=0; $(LAB) run -v -t lab/topologies/dr.yml -- python tests/bench/lab_speed.py || rc=1; \
	$(LAB) run -v --timeout 3000 -t lab/topologies/dr.yml -- env BENCH_PLAYBOOK=$(BENCH_PLAYBOOK) python tests/bench/bulk_table.py || rc=1; \
	for p in $(BENCH_LARGE); do \
	  $(LAB) run -v --timeout 2400 -t lab/topologies/dr.yml -- python tests/bench/large_cluster.py $$p || rc=1; \
	done; \
	$(LAB) run -v -t lab/topologies/dr-systemd.yml -- python -m pytest -q -s -p no:cacheprovider --color=no tests/systemd -k sigkill || rc=1; \
	for c in $(BENCH_CLUSTERS); do \
	  $(LAB) run -v --timeout 5400 -t lab/topologies/$$c.yml -- python tests/bench/run.py $$c || rc=1; \
	done; exit $$rc

clean:
	rm -rf .lab
