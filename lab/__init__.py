"""The lvs.cluster lab: a real IPVS kernel (user-mode Linux) on a machine whose own kernel has none.

Importing this package (or any module of it but the in-host scripts) starts
nothing, reads no inventory and imports no collection code. Its parts:

- cli: the `lvslab` command (lab/bin/lvslab, `python -m lab`);
- topology: topologies (lab/topologies/*.yml) read and checked;
- core: paths, LabError, running a command;
- machine: the machine's side of `lvslab run` (boot the lab kernel, run the command);
- pid1: the lab kernel's controller, started by lab/guest/boot;
- hosts: the lab hosts inside the lab kernel (switches, namespaces, power, inventory);
- agent, line, broker, client: a command in a lab host from the machine, over the
  lab kernel's serial line (agent inside, broker and client on the machine);
- zygote: the resident Python of a lab host (a script run in the host);
- probe: the fail-over probe in the lab kernel; failover: fail-over faults and what
  a client sees of them (cluster, clients, faults, runner, survival);
- testinfra_backend: pytest-testinfra's `lvslab://HOST`;
- lanes: the lab jobs of `make test` in two lanes; demo: `make demo`.

Python finds it as `lab` from the repository's root: pytest.ini's pythonpath for
tests, PYTHONPATH set by lab/bin/lvslab and `lvslab run` for the rest.
"""
