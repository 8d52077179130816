"""False-positive corpus: ordinary node evidence with nothing secret in it.

Realistic kubelet / containerd / kube-proxy / etcd / coredns / kernel lines, including the ones
that mention secrets and tokens without holding any (volume names, error messages, klog
key=value pairs), image digests, certificate fingerprints, UUIDs, pod names, base64 that is not
a secret (a CA bundle, a ConfigMap payload), plus the simulated node's recorded outputs.
"""
from __future__ import annotations

import base64
import json
import random
from pathlib import Path

SIMNODE_OUTPUTS = Path(__file__).resolve().parents[1] / "simnode" / "outputs"

_TEMPLATES = [
    'I1122 {t}    1201 kubelet.go:2400] "SyncLoop (PLEG): event for pod" pod="{ns}/{pod}" event={{ID:{uid} Type:ContainerStarted Data:{h64}}}',
    'I1122 {t}    1201 reconciler_common.go:258] "operationExecutor.VerifyControllerAttachedVolume started for volume \\"kube-api-access-{r5}\\" (UniqueName: \\"kubernetes.io/projected/{uid}-kube-api-access-{r5}\\") pod \\"{pod}\\" (UID: \\"{uid}\\") " pod="{ns}/{pod}"',
    'I1122 {t}    1201 operation_generator.go:721] "MountVolume.SetUp succeeded for volume \\"default-token-{r5}\\" (UniqueName: \\"kubernetes.io/secret/{uid}-default-token-{r5}\\") pod \\"{pod}\\" (UID: \\"{uid}\\") " pod="{ns}/{pod}"',
    'E1122 {t}    1201 secret.go:194] Couldn\'t get secret {ns}/{pod}-tls: secret "{pod}-tls" not found',
    'E1122 {t}    1201 nestedpendingoperations.go:348] Operation for "{{volumeName:kubernetes.io/secret/{uid}-config podName:{uid} nodeName:}}" failed. No retries permitted until 2026-11-22 09:00:{s2}.4 +0000 UTC m=+{s2}.1 (durationBeforeRetry 2m2s). Error: MountVolume.SetUp failed for volume "config-volume" : failed to sync secret cache: timed out waiting for the condition',
    'W1122 {t}    1201 kubelet_pods.go:880] "Unable to retrieve pull secret, the image pull may not succeed." pod="{ns}/{pod}" secret="" err="secret \\"regcred\\" not found"',
    'E1122 {t}    1201 server.go:302] "Unable to authenticate the request due to an error" err="invalid bearer token, Token has been invalidated"',
    'E1122 {t}    1201 authentication.go:73] "Unable to authenticate the request" err="[invalid bearer token, service account token has expired]"',
    'I1122 {t}    1201 certificate_manager.go:356] kubernetes.io/kube-apiserver-client-kubelet: Certificate expiration is 2027-01-01 00:00:00 +0000 UTC, rotation deadline is 2026-10-23 11:12:13.1 +0000 UTC',
    'I1122 {t}    1201 kuberuntime_manager.go:1100] "Creating PodSandbox for pod" pod="{ns}/{pod}"',
    'E1122 {t}    1201 pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"app\\" with CrashLoopBackOff: \\"back-off 5m0s restarting failed container=app pod={pod}_{ns}({uid})\\"" pod="{ns}/{pod}" podUID="{uid}"',
    'time="2026-11-22T09:00:{s2}.{us}Z" level=info msg="PullImage \\"registry.k8s.io/coredns/coredns:v1.11.1\\" returns image reference \\"sha256:{h64}\\""',
    'time="2026-11-22T09:00:{s2}.{us}Z" level=info msg="ImageCreate event name:\\"registry.k8s.io/pause@sha256:{h64}\\" labels:{{key:\\"io.cri-containerd.image\\" value:\\"managed\\"}}"',
    'time="2026-11-22T09:00:{s2}.{us}Z" level=info msg="RunPodSandbox for &PodSandboxMetadata{{Name:{pod},Uid:{uid},Namespace:{ns},Attempt:0,}} returns sandbox id \\"{h64}\\""',
    'time="2026-11-22T09:00:{s2}.{us}Z" level=error msg="failed to reserve sandbox name \\"{pod}_{ns}_{uid}_0\\": name is reserved for \\"{h64}\\""',
    'time="2026-11-22T09:00:{s2}.{us}Z" level=info msg="loading plugin \\"io.containerd.grpc.v1.cri\\"..." type=io.containerd.grpc.v1',
    'I1122 {t}       1 proxier.go:810] "Syncing iptables rules" ipFamily="IPv4" serviceCIDR="10.96.0.0/12" endpoint="10.244.{o}.{o}:8080"',
    '[INFO] 10.244.{o}.{o}:{port} - {port} "A IN {pod}.{ns}.svc.cluster.local. udp 56 false 512" NOERROR qr,aa,rd 128 0.000{us}s',
    '{{"level":"warn","ts":"2026-11-22T09:00:{s2}.{us}Z","caller":"etcdserver/util.go:170","msg":"apply request took too long","took":"{port}ms","expected-duration":"100ms","request":"header:<ID:{port} > txn:<compare:<target:MOD key:\\"/registry/leases/kube-node-lease/cp1\\" mod_revision:{port} > success:<request_put:<key:\\"/registry/leases/kube-node-lease/cp1\\" value_size:{port} >> failure:<>>"}}',
    'kernel: [ {port}.{us}] IPVS: rr: TCP 10.96.{o}.{o}:443 - no destination available',
    'kernel: [ {port}.{us}] cni0: port 2(veth{r8}) entered forwarding state',
    'kernel: [ {port}.{us}] eth0: renamed from tmp{r5}; link/ether 52:54:00:{m}:{m}:{m} brd ff:ff:ff:ff:ff:ff',
    'flanneld[812]: I1122 {t} 812 main.go:{port}] Wrote subnet file to /run/flannel/subnet.env (FLANNEL_NETWORK=10.244.0.0/16 FLANNEL_SUBNET=10.244.{o}.1/24)',
    'kubelet[1201]: I1122 {t} 1201 flags.go:64] FLAG: --bootstrap-kubeconfig="/etc/kubernetes/bootstrap-kubelet.conf"',
    'kubelet[1201]: I1122 {t} 1201 flags.go:64] FLAG: --rotate-certificates="true"',
    'kubelet[1201]: I1122 {t} 1201 flags.go:64] FLAG: --tls-private-key-file=""',
    'kubeadm[77]: [certs] apiserver serving cert is signed for DNS names [cp1 kubernetes kubernetes.default] and IPs [10.96.0.1 192.168.1.{o}]',
    'kubeadm[77]: [upload-certs] Skipping phase. Please see --upload-certs',
    'kubeadm[77]: [bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles',
    'kubeadm[77]: [kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"',
    'kube-apiserver: I1122 {t} 1 alloc.go:330] "allocated clusterIPs" service="{ns}/{pod}" clusterIPs={{"IPv4":"10.96.{o}.{o}"}}',
    'kube-apiserver: W1122 {t} 1 dispatcher.go:205] Failed calling webhook, failing closed validate.nginx.ingress.kubernetes.io: failed calling webhook: Post "https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s": x509: certificate signed by unknown authority',
    'cert fingerprint SHA256 Fingerprint={fp}',
    'openssl: sha256 Fingerprint={fp} subject=CN = kube-apiserver',
    'systemd[1]: Started cri-containerd-{h64}.scope - libcontainer container {h64}.',
    'docker[900]: time="2026-11-22T09:00:{s2}Z" level=info msg="ignoring event" container={h64} module=libcontainerd namespace=moby topic=/tasks/delete type="*events.TaskDelete"',
    'app[411]: config checksum/config={h64} payload={b64}',
    'app[411]: loaded ConfigMap data {b64}',
    # lookalikes of the rules that closed the known gaps (docs/redaction.md): none is a secret
    'ci[77]: HEAD is now at {h40} Merge pull request #{port} from org/fix',
    'ci[77]: git fetch origin {h40} {h40}',
    'aws-node[{port}]: {{"level":"info","caller":"ipamd/ipamd.go:{port}","msg":"AWS_SECRET_ACCESS_KEY is read from secret aws-creds, not logged"}}',
    'mysqld[{port}]: 2026-11-22T09:00:{s2}Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. Version: \'8.0.35\'  socket: \'/var/run/mysqld/mysqld.sock\'  port: 3306',
    'bash[{port}]: + mysql -h db -u root -p app',
    'mysql-init[{port}]: + mkdir -p /var/lib/mysql-files',
    'redis[{port}]: + redis-cli -h redis-master -p 6379 ping',
    'kube-proxy[{port}]: iptables -A KUBE-SERVICES -p tcp -d 10.96.{o}.{o}/32 --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y',
    'kubelet[1201]: I1122 {t} 1201 kuberuntime_container.go:770] "Killing container with a grace period" pod="{ns}/{pod}" containerName="app" gracePeriod=30 signal=SIGTERM',
    'app[411]: GET https://acct1.blob.core.windows.net/public/logo.png?comp=metadata&restype=container&q=a%3Db 200',
    'app[411]: 401 WWW-Authenticate: Digest realm="api", nonce="{h64}", qop="auth", algorithm=SHA-256',
    'app[411]: loaded settings retries=3,backoff=2s,timeout=30s reason=a,b,c',
    'containerd[812]: time="2026-11-22T09:00:{s2}Z" level=info msg="pulled" digest=sha256:{h64} size={port}',
    'ci[77]: pushed ghcr.io/org/app:v1 from gh_pages_deploy_workflow_run_{r8}{r8}{r8}',
    'app[411]: metric kube_pod_container_status_restarts_total_abcdefghijklmnopqrstuvwx{{namespace="{ns}"}} 3',
    'kubelet[1201]: I1122 {t} 1201 flags.go:64] FLAG: --kubelet-client-key="pki/apiserver-kubelet-client.key"',
    'systemd[1]: kubelet.service: User=root Group=root',
    # issue 11: Kubernetes event names (<object>.<UnixNano in hex>) are not bootstrap tokens
    'kubelet[1201]: I1122 {t} 1201 event.go:307] "Event occurred" object="{node}" fieldPath="" kind="Node" apiVersion="" type="Normal" reason="NodeHasSufficientMemory" message="Node {node} status is now: NodeHasSufficientMemory"',
    'kubelet[1201]: E1122 {t} 1201 event.go:289] Unable to write event: \'&v1.Event{{TypeMeta:v1.TypeMeta{{Kind:"", APIVersion:""}}, ObjectMeta:v1.ObjectMeta{{Name:"{node}.{ev}", GenerateName:"", Namespace:"default", SelfLink:"", UID:"", ResourceVersion:"", Generation:0}}, InvolvedObject:v1.ObjectReference{{Kind:"Node", Namespace:"", Name:"{node}", UID:"{node}"}}, Reason:"Starting", Message:"Starting kubelet.", Source:v1.EventSource{{Component:"kubelet", Host:"{node}"}}}}\' (may retry after sleeping)',
    'kubelet[1201]: E1122 {t} 1201 event.go:346] "Server rejected event (will not retry!)" err="namespaces \\"default\\" not found" event="&Event{{ObjectMeta:{{{node}.{ev}  default    0 0001-01-01 00:00:00 +0000 UTC <nil> <nil> map[] map[] [] [] []}},InvolvedObject:ObjectReference{{Kind:Node,Namespace:,Name:{node},UID:{node},APIVersion:,ResourceVersion:,FieldPath:,}},Reason:NodeReady,Message:Node {node} status is now: NodeReady,}}"',
    'kube-apiserver: I1122 {t} 1 trace.go:236] Trace[{port}]: "Update" accept:application/vnd.kubernetes.protobuf, */*,audit-id:{uid},client:192.168.1.{o},api-group:,api-version:v1,name:{node}.{ev},subresource:,namespace:default,protocol:HTTP/2.0,resource:events,scope:resource,url:/api/v1/namespaces/default/events/{node}.{ev},user-agent:kubelet/v1.29.3,verb:PUT (22-Nov-2026 09:00:00.000) (total time: 512ms)',
    'etcd[700]: {{"level":"warn","ts":"2026-11-22T09:00:{s2}.{us}Z","caller":"etcdserver/util.go:170","msg":"apply request took too long","took":"{port}ms","expected-duration":"100ms","prefix":"read-only range ","request":"key:\\"/registry/events/default/{node}.{ev}\\" ","response":"range_response_count:1 size:{port}"}}',
    # etcd's auth-token mode, cluster token and key files are settings, not secrets
    'etcd[700]: {{"level":"info","ts":"2026-11-22T09:00:{s2}.{us}Z","caller":"embed/etcd.go:309","msg":"starting an etcd server","etcd-version":"3.5.12","git-sha":"e7b3bb6cc","go-version":"go1.20.13","name":"{node}","data-dir":"/var/lib/etcd","initial-cluster-token":"etcd-cluster-1","quota-backend-bytes":2147483648,"max-request-bytes":1572864,"auth-token":"simple","bcrypt-cost":10,"compact-check-time-enabled":false}}',
    'etcd[700]: {{"level":"warn","ts":"2026-11-22T09:00:{s2}.{us}Z","caller":"auth/store.go:1241","msg":"simple token is not cryptographically signed"}}',
    'etcd[700]: {{"level":"info","ts":"2026-11-22T09:00:{s2}.{us}Z","caller":"embed/etcd.go:726","msg":"starting with client TLS","tls-info":"cert = /etc/kubernetes/pki/etcd/server.crt, key = /etc/kubernetes/pki/etcd/server.key, client-cert=, client-key=, trusted-ca = /etc/kubernetes/pki/etcd/ca.crt, client-cert-auth = true, crl-file = ","cipher-suites":[]}}',
    'etcd[700]: {{"level":"info","ts":"2026-11-22T09:00:{s2}.{us}Z","caller":"flags/flag.go:113","msg":"recognized and used environment variable","variable-name":"ETCD_AUTH_TOKEN","variable-value":"jwt,pub-key=/etc/etcd/jwt_ec384.pub,priv-key=/etc/etcd/jwt_ec384.key,sign-method=ES384,ttl=10m"}}',
    'ps[1]: root 700 2.1 1.3 11214392 98012 ? Ssl 09:00 1:02 etcd --advertise-client-urls=https://192.168.1.{o}:2379 --auth-token=simple --cert-file=/etc/kubernetes/pki/etcd/server.crt --client-cert-auth=true --data-dir=/var/lib/etcd --initial-cluster-token=etcd-cluster-1 --key-file=/etc/kubernetes/pki/etcd/server.key --peer-key-file=/etc/kubernetes/pki/etcd/peer.key --name={node}',
    'etcd[700]: {{"level":"info","ts":"2026-11-22T09:00:{s2}.{us}Z","caller":"embed/config.go:{port}","msg":"jwt token","auth-token":"jwt,pub-key=/etc/etcd/jwt.pub,priv-key=/etc/etcd/jwt.key,sign-method=RS256,ttl=5m"}}',
    # `pass` as a count or a test result (CI pods' logs, kube-bench's JSON), not a password
    'ci-runner[{port}]: --- PASS: TestReconcile{r5} ({s2}.{us}s)',
    'ci-runner[{port}]:     --- PASS: TestReconcile/case_{o} (0.00s)',
    'kube-bench[{port}]: {{"total_pass": {o}, "total_fail": 0, "total_warn": 3, "total_info": 0}}',
    'e2e[{port}]: summary pass={o} fail=0 skip=2',
    # key ids, cache keys, label keys
    'apt[{port}]: W: GPG error: https://pkgs.k8s.io/core:/stable:/v1.29/deb  InRelease: The following signatures could not be verified because the public key is not available: NO_PUBKEY 234654DA9A296436',
    'containerd[812]: time="2026-11-22T09:00:{s2}Z" level=debug msg="prepare snapshot" key=k8s.io/{port}/extract-{port}-{r5} parent="sha256:{h64}"',
    'kube-scheduler: I1122 {t} 1 schedule_one.go:{port}] "Unable to schedule pod; no fit" pod="{ns}/{pod}" err="0/3 nodes are available: 3 node(s) didn\'t match pod anti-affinity rules (topologyKey: kubernetes.io/hostname)."',
]


def _line(rng: random.Random, template: str) -> str:
    pods = ["coredns-5d78c9869d-k7xqz", "web-7d9c6b5f4-abcde", "kube-proxy-x2v9q", "etcd-cp1", "metrics-server-6db4d75b97-rl7kp"]
    uid = f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
    fp = ":".join(f"{rng.getrandbits(8):02X}" for _ in range(32))
    payload = base64.b64encode(json.dumps({"replicas": rng.randint(1, 9), "mode": "iptables"}).encode()).decode()
    return template.format(
        t=f"09:00:{rng.randint(10, 59)}.{rng.randint(100000, 999999)}", ns=rng.choice(["default", "kube-system", "ingress-nginx"]),
        pod=rng.choice(pods), uid=uid, h64=f"{rng.getrandbits(256):064x}", h40=f"{rng.getrandbits(160):040x}", r5="".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5)),
        r8=f"{rng.getrandbits(32):08x}", s2=f"{rng.randint(10, 59)}", us=f"{rng.randint(100000, 999999)}",
        o=rng.randint(1, 254), port=rng.randint(1024, 65000), m=f"{rng.getrandbits(8):02x}", fp=fp, b64=payload,
        # a node name of 6 characters (the length of a bootstrap token id) and an event suffix:
        # UnixNano in hex, as the event recorder names events (a date in 2026: 16 digits, "18...")
        node=rng.choice(["node01", "node02", "worker", "master", "etcd01", "cp1"]),
        ev=f"{1_795_000_000_000_000_000 + rng.randrange(10 ** 16):x}",
    )


def build(seed: int = 7, lines: int = 4000) -> dict[str, bytes]:
    rng = random.Random(seed)
    out: dict[str, bytes] = {}
    body = "".join(f"2026-11-22T09:00:00.000000+0000 cp1 {_line(rng, rng.choice(_TEMPLATES))}\n" for _ in range(lines))
    out["nodes/cp1/logs/journal/mixed.log"] = body.encode()
    ca_bundle = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2xhc3NpYyBub3Qgc2VjcmV0MAoGCCqGSM49BAMCMBUx\n-----END CERTIFICATE-----\n").decode()
    out["cluster/validatingwebhookconfigurations.json"] = json.dumps({
        "kind": "ValidatingWebhookConfigurationList", "items": [{"metadata": {"name": "ingress-nginx-admission",
            "uid": "0b7f0c7e-1111-2222-3333-444455556666"}, "webhooks": [{"name": "validate.nginx.ingress.kubernetes.io",
            "clientConfig": {"caBundle": ca_bundle, "service": {"name": "ingress-nginx-controller-admission"}}}]}]}, indent=2).encode()
    out["cluster/pods.json"] = json.dumps({"kind": "PodList", "items": [{
        "metadata": {"name": "web-7d9c6b5f4-abcde", "namespace": "default", "uid": "0b7f0c7e-1111-2222-3333-444455556666"},
        "spec": {"serviceAccountName": "default", "automountServiceAccountToken": True,
                 "volumes": [{"name": "kube-api-access-x7k2p", "projected": {"sources": [
                     {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}},
                             {"name": "tls", "secret": {"secretName": "web-tls", "defaultMode": 420}}],
                 "containers": [{"name": "web", "image": f"registry.example/web@sha256:{'cd' * 32}",
                                 "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                                         {"name": "TOKEN_FILE", "value": "/var/run/secrets/tokens/app"}],
                                 "args": ["--listen=:8080", "--token-ttl=24h", "--tls-cert-file=/tls/tls.crt"]}]}}]}, indent=2).encode()
    out["nodes/cp1/files/var/lib/kubelet/config.yaml"] = b"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    cacheTTL: 0s
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
rotateCertificates: true
serverTLSBootstrap: true
tlsPrivateKeyFile: /var/lib/kubelet/pki/kubelet.key
staticPodPath: /etc/kubernetes/manifests
"""
    out["nodes/cp1/files/etc/kubernetes/kubelet.conf"] = b"""apiVersion: v1
clusters:
- cluster:
    server: https://192.168.1.10:6443
    certificate-authority: /etc/kubernetes/pki/ca.crt
  name: default-cluster
kind: Config
users:
- name: default-auth
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
"""
    out["nodes/cp1/files/etc/kubernetes/manifests/kube-apiserver.yaml"] = b"""apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
    - --enable-bootstrap-token-auth=true
    - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt
    - --kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key
    - --service-account-key-file=/etc/kubernetes/pki/sa.pub
    - --service-account-signing-key-file=/etc/kubernetes/pki/sa.key
    - --tls-private-key-file=/etc/kubernetes/pki/apiserver.key
    - --proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key
    image: registry.k8s.io/kube-apiserver:v1.29.3
"""
    # a username with no password near it (and a password prompt): nothing to take
    out["nodes/cp1/files/etc/app/notes.txt"] = b"""# setup notes: not YAML (tabs), not INI
database:
\tuser: app
\thost: db.default.svc
replication:
  login: replicator

  tls: required
  slots: 4
  retries: 3
  mode: async
password policy: 12 characters minimum
"""
    # kubectl get events (table, then -o yaml): event names are <object>.<UnixNano hex>
    out["cluster/events.txt"] = b"""LAST SEEN   TYPE      REASON                    OBJECT                             MESSAGE
12m         Normal    Starting                  node/node01                        Starting kubelet.
12m         Normal    NodeHasSufficientMemory   node/node01                        Node node01 status is now: NodeHasSufficientMemory
11m         Warning   FailedMount               pod/web-7d9c6b5f4-abcde            MountVolume.SetUp failed for volume "tls" : secret "web-tls" not found
3m          Normal    Pulled                    pod/worker                         Container image "registry.k8s.io/pause:3.9" already present on machine
"""
    out["cluster/events.yaml"] = b"""apiVersion: v1
items:
- apiVersion: v1
  count: 1
  firstTimestamp: "2026-11-22T08:48:00Z"
  involvedObject:
    kind: Node
    name: node01
    uid: node01
  kind: Event
  message: Starting kubelet.
  metadata:
    name: node01.18e9a43c7b2d5f10
    namespace: default
  reason: Starting
  source:
    component: kubelet
    host: node01
  type: Normal
- apiVersion: v1
  involvedObject:
    kind: Pod
    name: worker
    namespace: default
  kind: Event
  metadata:
    name: worker.18e9a44f0c1d2e3a
    namespace: default
  reason: Pulled
  type: Normal
kind: List
"""
    # etcd: a config file and a static pod's flags (https://etcd.io/docs/v3.5/op-guide/configuration/)
    out["nodes/cp1/files/etc/etcd/etcd.conf.yml"] = b"""name: etcd01
data-dir: /var/lib/etcd
listen-client-urls: https://10.0.0.11:2379
advertise-client-urls: https://10.0.0.11:2379
initial-cluster: etcd01=https://10.0.0.11:2380
initial-cluster-token: etcd-cluster-1
initial-cluster-state: new
auth-token: jwt,pub-key=/etc/etcd/jwt.pub,priv-key=/etc/etcd/jwt.key,sign-method=RS256,ttl=10m
client-transport-security:
  cert-file: /etc/etcd/pki/server.crt
  key-file: /etc/etcd/pki/server.key
  client-cert-auth: true
  trusted-ca-file: /etc/etcd/pki/ca.crt
peer-transport-security:
  cert-file: /etc/etcd/pki/peer.crt
  key-file: /etc/etcd/pki/peer.key
"""
    out["nodes/cp1/files/etc/kubernetes/manifests/etcd.yaml"] = b"""apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://10.0.0.11:2379
    - --auth-token=simple
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --client-cert-auth=true
    - --initial-cluster-token=etcd-cluster-1
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --peer-key-file=/etc/kubernetes/pki/etcd/peer.key
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    image: registry.k8s.io/etcd:3.5.12-0
"""
    # changelogs: `auth:` leads a sentence, not a credential
    out["nodes/cp1/files/usr/share/doc/containerd/changelog"] = b"""containerd (1.7.14~ds1-1) unstable; urgency=medium

  * New upstream release.
  * auth: fix token refresh when the registry answers 401 to a HEAD request
  * auth: add support for the bearer scheme in hosts.toml headers
  * cri: restore the sandbox image pinning

 -- Debian Go Packaging Team <team+pkg-go@tracker.debian.org>  Mon, 18 Mar 2024 10:00:00 +0000
"""
    out["nodes/cp1/files/opt/charts/app/CHANGELOG.md"] = b"""# Changelog

## 2.4.0
- auth: rotate service account keys before they expire
- auth: Support OIDC groups claims
- ingress: fix the TLS host list

auth: deprecate the static token file (use OIDC)
"""
    # issue 11, round two (red-team): every Debian/Ubuntu node's nsswitch.conf (nsswitch.conf(5):
    # a database and its sources), `kubectl describe secret` (sizes, not values), Helm values and
    # klog lines naming Secret objects, documentation placeholders
    out["nodes/cp1/files/etc/nsswitch.conf"] = b"""# /etc/nsswitch.conf
passwd:         files systemd
group:          files systemd
shadow:         files
gshadow:        files
hosts:          files mdns4_minimal [NOTFOUND=return] dns myhostname
"""
    out["nodes/cp1/files/etc/nsswitch-rhel.conf"] = b"passwd:     sss files systemd\nshadow:     files sss\n"
    out["nodes/cp1/cluster/describe-secrets.txt"] = b"""Name:         default-token-x7k2p
Namespace:    default
Type:  kubernetes.io/service-account-token

Data
====
ca.crt:     1099 bytes
namespace:  7 bytes
token:      912 bytes
"""
    out["nodes/cp1/files/opt/helm/longhorn-values.yaml"] = b"""defaultSettings:
  backupTarget: s3://backups@us-east-1/
  backupTargetCredentialSecret: longhorn-backup-credentials
ingress:
  enabled: true
  tls: true
  secret: longhorn.local-tls
  tlsSecretName: longhorn-ui-tls
certs:
  secretName: webhook-server-cert
"""
    out["nodes/cp1/logs/components/kube-controller-manager.log"] = (
        b'I1206 08:10:26.000000       1 tokencleaner.go:139] "Deleting expired secret" '
        b'secret="kube-system/bootstrap-token-q7x2mf"\n')
    out["nodes/cp1/files/etc/app/README"] = b"""Call the API with the header
Authorization: Bearer <token>
Password protection
token expired
"""
    for path in sorted(SIMNODE_OUTPUTS.rglob("*")):
        if path.is_file():
            out[f"nodes/cp1/commands/sim-{path.relative_to(SIMNODE_OUTPUTS).as_posix().replace('/', '-')}"] = path.read_bytes()
    return out


def changed_lines(before: bytes, after: bytes) -> list[tuple[str, str]]:
    a = before.decode("utf-8", "replace").splitlines()
    b = after.decode("utf-8", "replace").splitlines()
    if len(a) != len(b):
        return [("<line count>", f"{len(a)} -> {len(b)}")]
    return [(x, y) for x, y in zip(a, b) if x != y]
