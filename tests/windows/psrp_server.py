"""A WinRM endpoint on 127.0.0.1 that answers a PSRP client the way a Windows node does.

Real HTTPS (a test CA signs the server certificate; certificate auth checks the client's TLS
certificate like WinRM's HTTPS mutual profile), real WSMan envelopes (recorded shapes in
data/psrp_envelopes.yaml), real PSRP messages (pypsrp's message and fragment classes). What
each pipeline outputs comes from the recorded Windows node (win_fake.py) or, for the file
fetch script, from a directory standing in for drive C:. `reject_auth=True` answers every
request with HTTP 401 and a Negotiate challenge, as WinRM does for bad credentials.

Every request is recorded in `server.requests` (action, bytes) so tests can check streaming.
"""
from __future__ import annotations

import base64
import ssl
import struct
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import yaml
from pypsrp.complex_objects import PSInvocationState, RunspacePoolState
from pypsrp.messages import (ApplicationPrivateData, Destination, Message, MessageType, PipelineState,
                             RunspacePoolStateMessage, SessionCapability)
from pypsrp.powershell import Fragment
from pypsrp.serializer import Serializer

from win_fake import params as script_params
from win_fake import recorded_output

NS = {"s": "http://www.w3.org/2003/05/soap-envelope", "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
      "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
      "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"}
ENVELOPES = yaml.safe_load((Path(__file__).parent / "data" / "psrp_envelopes.yaml").read_text())
MAX_FRAGMENT = 32 * 1024          # small fragments: large outputs span many receives
RECEIVE_BUDGET = 128 * 1024       # bytes of fragments per Receive response


@dataclass
class Pipeline:
    pid: str
    outputs: Iterator[bytes]      # packed PSRP messages still to send
    done: bool = False


@dataclass
class Shell:
    rpid: str
    pool_queue: list[bytes] = field(default_factory=list)
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    object_id: int = 1


class FakeWinRM:
    def __init__(self, tmp: Path, recorded_dir: str, drive_c: str, *, reject_auth: bool = False,
                 require_client_cert: bool = False, hostname: str = "WIN-NODE1", ntlm: bool = False) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        import datetime as dt
        import ipaddress

        self.recorded_dir = recorded_dir
        self.drive_c = drive_c
        self.reject_auth = reject_auth
        self.hostname = hostname
        self.ntlm = ntlm   # NTLM over HTTP Negotiate, users from $NTLM_USER_FILE (pyspnego's server side)
        self.requests: list[tuple[str, int]] = []
        self.shells: dict[str, Shell] = {}
        self.serializer = Serializer()
        self._lock = threading.Lock()

        now = dt.datetime.now(dt.timezone.utc)

        def make(cn: str, issuer_key: Any = None, issuer_name: Any = None, san: bool = False, ca: bool = False):
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
            b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
                 .public_key(key.public_key()).serial_number(x509.random_serial_number())
                 .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
                 .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
            if san:
                b = b.add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            cert = b.sign(issuer_key or key, hashes.SHA256())
            return key, cert

        def write(path: Path, key: Any, cert: Any) -> tuple[str, str]:
            cert_path, key_path = path.with_suffix(".crt"), path.with_suffix(".key")
            cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
            return str(cert_path), str(key_path)

        ca_key, ca_cert = make(f"k8s-bundle test CA {hostname}", ca=True)
        srv_key, srv_cert = make("win-node1", ca_key, ca_cert.subject, san=True)
        cli_key, cli_cert = make("k8sadmin", ca_key, ca_cert.subject)
        self.ca_file, _ = write(tmp / "ca", ca_key, ca_cert)
        server_cert, server_key = write(tmp / "server", srv_key, srv_cert)
        self.client_cert, self.client_key = write(tmp / "client", cli_key, cli_cert)

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(server_cert, server_key)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.ca_file)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body are two writes: without this, Nagle + delayed ACK add 40 ms a request
                import socket

                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            authenticated = False
            auth_ctx: Any = None

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if owner.ntlm and not self.authenticated:
                    status, payload, headers = self._ntlm(body)
                    if status != 200:
                        self._reply(status, payload, headers)
                        return
                status, payload, headers = owner.handle(body, dict(self.headers))
                self._reply(status, payload, headers)

            def _ntlm(self, body: bytes) -> tuple[int, bytes, dict[str, str]]:
                """WinRM's connection-based Negotiate: 401 + challenge, then the authenticate message."""
                import spnego

                value = self.headers.get("Authorization", "")
                if not value.startswith("Negotiate "):
                    owner.requests.append(("401", len(body)))
                    return 401, b"", {"WWW-Authenticate": "Negotiate"}
                token = base64.b64decode(value.split(" ", 1)[1])
                if self.auth_ctx is None:
                    self.auth_ctx = spnego.server(protocol="negotiate")  # SPNEGO or raw NTLM, as WinRM
                try:
                    out = self.auth_ctx.step(token)
                except Exception:  # noqa: BLE001 - any bad token: the logon is denied
                    self.auth_ctx = None
                    owner.requests.append(("401", len(body)))
                    return 401, b"", {"WWW-Authenticate": "Negotiate"}
                if not self.auth_ctx.complete:
                    owner.requests.append(("401-challenge", len(body)))
                    return 401, b"", {"WWW-Authenticate": "Negotiate " + base64.b64encode(out or b"").decode()}
                self.authenticated = True
                return 200, b"", {}

            def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FakeWinRM":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- WSMan --------------------------------------------------------------------------------
    def handle(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        if self.reject_auth:
            self.requests.append(("401", len(body)))
            return 401, b"", {"WWW-Authenticate": "Negotiate", "Content-Type": "text/plain"}
        root = ET.fromstring(body)
        action = root.findtext("s:Header/a:Action", namespaces=NS) or ""
        message_id = root.findtext("s:Header/a:MessageID", namespaces=NS) or ""
        shell_id = root.findtext("s:Header/w:SelectorSet/w:Selector[@Name='ShellId']", namespaces=NS)
        verb = action.rsplit("/", 1)[-1]
        with self._lock:
            self.requests.append((verb, len(body)))
            if verb == "Create":
                reply = self._create(root)
            elif verb == "Command":
                reply = self._command(self.shells[shell_id], root)
            elif verb == "Receive":
                reply = self._receive(self.shells[shell_id], root)
            elif verb == "Signal":
                reply = ENVELOPES["signal"]
            elif verb == "Delete":
                self.shells.pop(shell_id or "", None)
                reply = ENVELOPES["delete"]
            else:
                return 500, f"unexpected action {action}".encode(), {}
        envelope = ENVELOPES["envelope"].format(action=action + "Response", message_id=str(uuid.uuid4()).upper(),
                                                operation_id=str(uuid.uuid4()).upper(), relates_to=message_id,
                                                body=reply)
        return 200, envelope.encode("utf-8"), {"Content-Type": "application/soap+xml;charset=UTF-8"}

    def _create(self, root: ET.Element) -> str:
        creation = root.find(".//{http://schemas.microsoft.com/powershell}creationXml")
        assert creation is not None and creation.text
        rpid = str(_raw_messages(base64.b64decode(creation.text))[0][0])
        shell_id = str(uuid.uuid4()).upper()
        shell = Shell(rpid)
        for data in (SessionCapability("2.3", "2.0", "1.1.0.1"), ApplicationPrivateData(data={}),
                     RunspacePoolStateMessage(state=RunspacePoolState.OPENED)):
            shell.pool_queue.append(Message(Destination.CLIENT, rpid, None, data, self.serializer).pack())
        self.shells[shell_id] = shell
        return ENVELOPES["create"].format(host="127.0.0.1", port=self.port, shell_id=shell_id)

    def _command(self, shell: Shell, root: ET.Element) -> str:
        cmd = root.find("s:Body/rsp:CommandLine", NS)
        assert cmd is not None
        command_id = cmd.attrib.get("CommandId") or str(uuid.uuid4()).upper()
        args = cmd.findtext("rsp:Arguments", namespaces=NS) or ""
        _, pid_uuid, body = _raw_messages(base64.b64decode(args))[0]
        script = self._script_of(body)
        pid = str(pid_uuid)
        shell.pipelines[command_id.upper()] = Pipeline(pid, self._run(shell, pid, script))
        return ENVELOPES["command"].format(command_id=command_id)

    def _receive(self, shell: Shell, root: ET.Element) -> str:
        stream = root.find("s:Body/rsp:Receive/rsp:DesiredStream", NS)
        command_id = stream.attrib.get("CommandId") if stream is not None else None
        if not command_id:
            frags = [self._fragment(shell, m) for m in shell.pool_queue]
            shell.pool_queue.clear()
            data = "".join(ENVELOPES["stream"].format(command_attr="", data=base64.b64encode(f).decode()) for f in frags)
            return ENVELOPES["receive"].format(streams=data, state="")
        pipe = shell.pipelines[command_id.upper()]
        chunks: list[bytes] = []
        size = 0
        for packed in pipe.outputs:
            frag = self._fragment(shell, packed)
            chunks.append(frag)
            size += len(frag)
            if size >= RECEIVE_BUDGET:
                break
        else:
            pipe.done = True
        attr = f' CommandId="{command_id}"'
        streams = "".join(ENVELOPES["stream"].format(command_attr=attr, data=base64.b64encode(c).decode()) for c in chunks)
        state = ENVELOPES["command_done" if pipe.done else "command_running"].format(command_id=command_id)
        return ENVELOPES["receive"].format(streams=streams, state=state)

    def _fragment(self, shell: Shell, packed: bytes) -> bytes:
        """One PSRP message as fragments (several when it is large)."""
        obj = shell.object_id
        shell.object_id += 1
        parts = [packed[i:i + MAX_FRAGMENT] for i in range(0, len(packed), MAX_FRAGMENT)] or [b""]
        return b"".join(Fragment(obj, n, p, n == 0, n == len(parts) - 1).pack() for n, p in enumerate(parts))

    def _script_of(self, body: bytes) -> str:
        """The script text of a CREATE_PIPELINE message (the <S N="Cmd"> of its command)."""
        if body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]
        root = ET.fromstring(body)
        cmd = next(el for el in root.iter("S") if el.attrib.get("N") == "Cmd")
        return self.serializer._deserialize_string(cmd.text or "")

    # -- what a pipeline outputs ------------------------------------------------------------------
    def _output(self, shell: Shell, pid: str, text: str) -> bytes:
        el = self.serializer.serialize(text)
        payload = ET.tostring(el, encoding="utf-8")
        return (struct.pack("<I", Destination.CLIENT) + struct.pack("<I", MessageType.PIPELINE_OUTPUT)
                + uuid.UUID(shell.rpid).bytes_le + uuid.UUID(pid).bytes_le + payload)

    def _error(self, shell: Shell, pid: str, message: str, exception_type: str, error_id: str) -> bytes:
        from xml.sax.saxutils import escape

        xml = ENVELOPES["error_record"].format(message=escape(message), exception_type=exception_type, error_id=error_id)
        return (struct.pack("<I", Destination.CLIENT) + struct.pack("<I", MessageType.ERROR_RECORD)
                + uuid.UUID(shell.rpid).bytes_le + uuid.UUID(pid).bytes_le + xml.encode("utf-8"))

    def _state(self, shell: Shell, pid: str) -> bytes:
        return Message(Destination.CLIENT, shell.rpid, pid, PipelineState(state=PSInvocationState.COMPLETED),
                       self.serializer).pack()

    def _run(self, shell: Shell, pid: str, script: str) -> Iterator[bytes]:
        p = script_params(script)
        if "$env:COMPUTERNAME" in script:
            yield self._output(shell, pid, self.hostname)
            yield self._output(shell, pid, "True")
        elif "[System.IO.File]::Open($Path" in script:
            yield from self._read_file(shell, pid, p["Path"], int(_num(script, "Cap")), _num(script, "Tail") == "$true",
                                       int(_num(script, "Chunk")))
        elif "Get-ChildItem -Path" in script:
            yield from self._glob(shell, pid, script)
        elif "Get-Command" in script and "-CommandType Application" in script:
            pass  # no native tools on this recorded node
        else:
            data = recorded_output(script, self.recorded_dir)
            if data is None:
                yield self._error(shell, pid, "no recorded output", "System.Exception", "Recorded")
            else:
                for line in data.decode("utf-8").splitlines():
                    yield self._output(shell, pid, line)
        yield self._state(shell, pid)

    def _host(self, win_path: str) -> Path:
        assert win_path[:3].upper() == "C:\\", win_path
        return Path(self.drive_c, *[p for p in win_path[3:].split("\\") if p])

    def _read_file(self, shell: Shell, pid: str, path: str, cap: int, tail: bool, chunk: int) -> Iterator[bytes]:
        host = self._host(path)
        if not host.is_file():
            yield self._error(shell, pid, f"Exception calling \"Open\" with \"4\" argument(s): \"Could not find file '{path}'.\"",
                              "System.IO.FileNotFoundException", "FileNotFoundException")
            return
        length = host.stat().st_size
        yield self._output(shell, pid, f"#length={length}")
        with open(host, "rb") as f:
            if tail and length > cap:
                f.seek(length - cap)
            left = min(length, cap)
            while left > 0:
                data = f.read(min(chunk, left))
                if not data:
                    break
                left -= len(data)
                yield self._output(shell, pid, base64.b64encode(data).decode())

    def _glob(self, shell: Shell, pid: str, script: str) -> Iterator[bytes]:
        import glob
        import re

        m = re.search(r"Get-ChildItem -Path '((?:[^']|'')*)'", script)
        assert m
        pattern = self._host(m.group(1).replace("''", "'"))
        for found in sorted(glob.glob(str(pattern))):
            st = Path(found).stat()
            rel = Path(found).relative_to(self.drive_c)
            win = "C:\\" + "\\".join(rel.parts)
            yield self._output(shell, pid, f"{win}|{st.st_size}|{int(st.st_mtime)}")


def _raw_messages(data: bytes) -> list[tuple[uuid.UUID, uuid.UUID, bytes]]:
    """Reassemble PSRP fragments into (rpid, pid, body) without deserializing the bodies."""
    buffers: dict[int, bytes] = {}
    out = []
    while data:
        frag, data = Fragment.unpack(data)
        buffers[frag.object_id] = buffers.get(frag.object_id, b"") + frag.data
        if frag.end:
            msg = buffers.pop(frag.object_id)
            out.append((uuid.UUID(bytes_le=msg[8:24]), uuid.UUID(bytes_le=msg[24:40]), msg[40:]))
    return out


def _num(script: str, name: str) -> str:
    import re

    m = re.search(rf"^\${name} = (\S+)$", script, re.M)
    assert m, name
    return m.group(1)
