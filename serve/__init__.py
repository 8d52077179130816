"""`k8s-bundle serve`: a read-only Kubernetes API over one or more bundles, for kubectl.

loader.py reads the bundles once (objects under cluster/, node data, where the logs are),
synth.py builds Kubernetes objects from node data and findings, api.py answers the API
requests kubectl makes (discovery, get/list as Table or JSON, pods/log), httpd.py is the
stdlib HTTP server around it, cli.py the command. docs/serve.md describes what kubectl sees.
"""
