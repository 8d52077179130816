# $What = dynamicportrange | excludedportrange ; $Protocol = tcp | udp
netsh int ipv4 show $What "protocol=$Protocol"
exit $LASTEXITCODE
