Kind = "proxy-defaults"
Name = "global"
Config = {
  flags = [true, false]
  huge = 1e+300
  local_connect_timeout_ms = 1000
  nested = {
    empty = {}
    list = [
      [1, 2],
      [],
      {
        deep = {
          x = "y"
        }
      },
    ]
  }
  protocol = "http"
  ratio = 0.25
  tiny = 5e-324
  "weird keys" = {
    "" = "empty key"
    "- x" = ": y"
    "1" = "number-like"
    null = "~"
  }
}
Mode = "direct"
MeshGateway {
  Mode = "local"
}
AccessLogs {
  Enabled = true
  Type = "file"
  Path = "/var/log/envoy.log"
  JSONFormat = "{\"start\": \"%START_TIME%\"}"
}
FailoverPolicy {
  Mode = "order-by-locality"
  Regions = ["us-east-1", "us-west-2"]
}
