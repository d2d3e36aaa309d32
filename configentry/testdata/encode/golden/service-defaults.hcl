Kind = "service-defaults"
Name = "web"
Protocol = "http"
Mode = "transparent"
TransparentProxy {
  OutboundListenerPort = 15001
  DialedDirectly = true
}
MutualTLSMode = "strict"
MeshGateway {
  Mode = "local"
}
Expose {
  Checks = true
  Paths = [
    {
      ListenerPort = 21500
      Path = "/health"
      LocalPathPort = 8080
      Protocol = "http"
    },
  ]
}
ExternalSNI = "web.example.com"
UpstreamConfig {
  Overrides = [
    {
      Name = "db"
      EnvoyClusterJSON = "{\"name\": \"db\"}"
      Protocol = "tcp"
      ConnectTimeoutMs = 500
      Limits {
        MaxConnections = 0
        MaxPendingRequests = 10
      }
      PassiveHealthCheck {
        Interval = "10s"
        MaxFailures = 5
        EnforcingConsecutive5xx = 100
        BaseEjectionTime = "30s"
      }
      MeshGateway {
        Mode = "remote"
      }
    },
  ]
  Defaults {
    ConnectTimeoutMs = 1000
    BalanceOutboundConnections = "exact_balance"
  }
}
MaxInboundConnections = 100
LocalConnectTimeoutMs = 2000
BalanceInboundConnections = "exact_balance"
EnvoyExtensions = [
  {
    Name = "builtin/lua"
    Required = true
    Arguments = {
      Listener = "inbound"
      ProxyType = "connect-proxy"
      Script = "function envoy_on_request(h)\n  h:headers():add(\"x\", \"\u0024{y}\")\nend"
    }
    ConsulVersion = ">= 1.15.0"
  },
]
Meta = {
  env = "prod"
}
