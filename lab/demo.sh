#!/bin/sh
# The main job on the built-in lab: an LVS-DR cluster with keepalived, built by
# playbooks/site.yml from inventories/lab-dr, then used by the lab's client.
set -e
cd "$(dirname "$0")/.."
ansible-playbook -i "$LVSLAB_INVENTORY" -i inventories/lab-dr playbooks/site.yml
echo "== waiting for the VIP (VRRP master election)"
for i in $(seq 1 50); do
    lvslab exec dir1 -- ip -o addr show dev eth0 | grep -q 192.0.2.100 && break
    sleep 0.2
done
echo "== IPVS table on dir1 (keepalived master):"
lvslab exec dir1 -- ipvsadm -Ln
echo "== IPVS table on dir2 (backup):"
lvslab exec dir2 -- ipvsadm -Ln
echo "== six requests from the client to the VIP 192.0.2.100:"
for i in 1 2 3 4 5 6; do
    lvslab exec client -- curl -s --max-time 5 http://192.0.2.100/
done
