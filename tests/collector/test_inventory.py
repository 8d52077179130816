"""collector/inventory.py on the inventory shapes of Ansible's "How to build your inventory"
(https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html): its INI and
YAML examples, ranges, host and group variables, children, ports and aliases; plain host
lists; and the one-line errors a bad file gets."""
from __future__ import annotations

from pathlib import Path

import pytest

from k8s_bundle.collector.inventory import InventoryHost, expand_ranges, load_hosts
from k8s_bundle.errors import UserError

DOCS_INI = """\
mail.example.com

[webservers]
foo.example.com
bar.example.com

[dbservers]
one.example.com
two.example.com
three.example.com
"""

DOCS_YAML = """\
ungrouped:
  hosts:
    mail.example.com:
webservers:
  hosts:
    foo.example.com:
    bar.example.com:
dbservers:
  hosts:
    one.example.com:
    two.example.com:
    three.example.com:
east:
  hosts:
    foo.example.com:
    one.example.com:
    two.example.com:
west:
  hosts:
    bar.example.com:
    three.example.com:
prod:
  children:
    east:
test:
  children:
    west:
"""

CHILDREN_INI = """\
[atlanta]
host1
host2

[raleigh]
host2
host3

[southeast:children]
atlanta
raleigh

[southeast:vars]
ansible_user=admin
ansible_port=2200

[atlanta:vars]
ansible_user=atl

[usa:children]
southeast
northeast
"""


def _write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def names(hosts: list[InventoryHost]) -> list[str]:
    return [h.name for h in hosts]


def test_docs_ini_and_yaml_give_the_same_hosts(tmp_path: Path) -> None:
    ini = load_hosts([_write(tmp_path, "hosts", DOCS_INI)])
    yml = load_hosts([_write(tmp_path, "hosts.yml", DOCS_YAML)])
    assert names(ini) == ["mail.example.com", "foo.example.com", "bar.example.com", "one.example.com",
                          "two.example.com", "three.example.com"]
    assert sorted(names(yml)) == sorted(names(ini))
    assert all(h.connection == "ssh" and h.user is None and h.port is None for h in ini + yml)
    assert names(load_hosts([_write(tmp_path, "h", DOCS_INI)], "dbservers")) == [
        "one.example.com", "two.example.com", "three.example.com"]
    # a group of groups: prod has east's hosts; "all" is every host; ungrouped the loose one
    assert names(load_hosts([str(tmp_path / "hosts.yml")], "prod")) == [
        "foo.example.com", "one.example.com", "two.example.com"]
    assert len(load_hosts([str(tmp_path / "hosts.yml")], "all")) == 6
    assert names(load_hosts([str(tmp_path / "hosts")], "ungrouped")) == ["mail.example.com"]


def test_children_and_variables_child_group_wins_host_wins(tmp_path: Path) -> None:
    path = _write(tmp_path, "inv.ini", CHILDREN_INI + "[raleigh]\nhost3 ansible_user=h3 ansible_host=10.0.0.3\n")
    by = {h.name: h for h in load_hosts([path], "usa")}
    assert list(by) == ["host1", "host2", "host3"]
    assert by["host1"].user == "atl" and by["host1"].port == 2200     # atlanta's over southeast's
    assert by["host3"].user == "h3" and by["host3"].address == "10.0.0.3" and by["host3"].port == 2200
    assert by["host3"].label == "h3@host3"       # the inventory name, not the address
    assert names(load_hosts([path], "raleigh")) == ["host2", "host3"]


def test_ranges_ports_aliases_and_windows(tmp_path: Path) -> None:
    assert expand_ranges("www[01:03].example.com") == ["www01.example.com", "www02.example.com",
                                                       "www03.example.com"]
    assert expand_ranges("db-[a:c].example.com") == ["db-a.example.com", "db-b.example.com", "db-c.example.com"]
    assert expand_ranges("n[0:10:5]") == ["n0", "n5", "n10"]
    assert expand_ranges("r[1:2]c[1:2]") == ["r1c1", "r1c2", "r2c1", "r2c2"]
    path = _write(tmp_path, "inv", """\
# Linux and Windows nodes of one cluster
[linux]
node[01:20].example ansible_user=root
badwolf.example.com:5309
jumper ansible_port=5555 ansible_host=192.0.2.50

[windows]
win[1:2].example
winx ansible_connection=psrp ansible_port=15986

[windows:vars]
ansible_connection=winrm
ansible_user=CORP\\\\admin
""")
    hosts = load_hosts([path])
    linux = [h for h in hosts if h.connection == "ssh"]
    win = [h for h in hosts if h.connection == "winrm"]
    assert len(linux) == 22 and linux[0] == InventoryHost("node01.example", "node01.example", "root", None, "ssh")
    assert linux[19].name == "node20.example" and linux[0].label == "root@node01.example"
    bad = next(h for h in linux if h.name == "badwolf.example.com")
    assert bad.port == 5309 and bad.label == "badwolf.example.com:5309"
    jumper = next(h for h in linux if h.name == "jumper")
    assert (jumper.address, jumper.port) == ("192.0.2.50", 5555)
    assert names(win) == ["win1.example", "win2.example", "winx"]
    assert win[0].user == "CORP\\admin" and win[2].port == 15986


def test_yaml_with_all_vars_children_and_host_vars(tmp_path: Path) -> None:
    path = _write(tmp_path, "inv.yaml", """\
all:
  vars:
    ansible_user: ops
  hosts:
    bastion.example:
  children:
    k8s:
      children:
        control:
          hosts:
            cp[1:3].example:
        workers:
          vars:
            ansible_port: 2222
          hosts:
            w1.example:
              ansible_host: 10.1.0.1
              ansible_user: root
            winw1.example:
              ansible_connection: winrm
""")
    hosts = {h.name: h for h in load_hosts([path], "k8s")}
    assert list(hosts) == ["cp1.example", "cp2.example", "cp3.example", "w1.example", "winw1.example"]
    assert hosts["cp1.example"].user == "ops" and hosts["cp1.example"].port is None
    assert hosts["w1.example"] == InventoryHost("w1.example", "10.1.0.1", "root", 2222, "ssh")
    assert hosts["winw1.example"].connection == "winrm" and hosts["winw1.example"].port == 2222
    assert "bastion.example" in names(load_hosts([path]))


def test_plain_list_and_duplicates_across_files(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.txt", "# admin hosts\n\nroot@10.0.0.1\nadmin@node2:2222  # a comment\n[::1]:2200\n")
    b = _write(tmp_path, "b.txt", "root@10.0.0.1\nnode3\n")
    hosts = load_hosts([a, b])
    assert [(h.user, h.address, h.port) for h in hosts] == [
        ("root", "10.0.0.1", None), ("admin", "node2", 2222), (None, "::1", 2200), (None, "node3", None)]
    assert hosts[1].label == "admin@node2:2222"


@pytest.mark.parametrize("text,needle", [
    ("[web\nhost1\n", "inv:1: bad section header"),
    ("[web]\nnode[05:01]\n", "inv:2: range 'node[05:01]' ends before it starts"),
    ("[web]\nnode[1:9999999]\n", "more than 100000 hosts"),
    ("[web]\nnode[x:1]\n", "bad range"),
    ("[web]\nhost1 ansible_port\n", "inv:2: expected key=value"),
    ("[web]\nhost1 ansible_port=http\n", "host1: ansible_port=http is not a port"),
    ("localhost ansible_connection=local\n", "ansible_connection=local is not collected"),
    ("host1 ansible_host='-oProxyCommand=x'\n", "bad ansible_host"),
    ("host1 'unclosed\n", "cannot split the line"),
])
def test_bad_ini_is_one_line_exit_4(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(UserError) as info:
        load_hosts([_write(tmp_path, "inv", text)])
    assert info.value.exit_code == 4 and "\n" not in str(info.value)
    assert needle in str(info.value) and str(info.value).startswith(f"--hosts {tmp_path / 'inv'}")


@pytest.mark.parametrize("text,needle", [
    ("all:\n  hosts: [a, b]\n", "hosts: must be a mapping"),
    ("all:\n  hosts:\n    a: 3\n", "its variables must be a mapping"),
    ("all:\n  hostz:\n    a:\n", "unknown key 'hostz'"),
    ("all:\n  hosts:\n    a:\n   b: [\n", "not valid YAML"),
    ("- a\n- b\n", "a YAML inventory is a mapping"),
])
def test_bad_yaml_is_one_line_exit_4(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(UserError) as info:
        load_hosts([_write(tmp_path, "inv.yml", text)])
    assert info.value.exit_code == 4 and "\n" not in str(info.value) and needle in str(info.value)


def test_unreadable_files_and_unknown_group(tmp_path: Path) -> None:
    for path, needle in ((tmp_path / "absent", "no such file"), (tmp_path, "not a regular file")):
        with pytest.raises(UserError, match=needle) as info:
            load_hosts([str(path)])
        assert info.value.exit_code == 4
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe\x00host")
    with pytest.raises(UserError, match="not UTF-8"):
        load_hosts([str(binary)])
    with pytest.raises(UserError, match="--hosts-group nope: no such group") as info:
        load_hosts([_write(tmp_path, "inv", DOCS_INI)], "nope")
    assert info.value.exit_code == 4
