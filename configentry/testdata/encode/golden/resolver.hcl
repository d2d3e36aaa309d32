Kind = "service-resolver"
Name = "api"
DefaultSubset = "v1"
Subsets = {
  empty = {}
  v1 = {
    Filter = "Service.Meta.version == v1"
    OnlyPassing = true
  }
  v2 = {
    Filter = "Service.Meta.version == v2"
  }
}
Failover = {
  "*" = {
    Targets = [
      {
        Peer = "east"
      },
      {
        Service = "api-backup"
        Datacenter = "dc2"
      },
    ]
  }
  v1 = {
    Datacenters = ["dc2", "dc3"]
    Policy {
      Mode = "sequential"
      Regions = ["us-east-1"]
    }
  }
}
ConnectTimeout = "15s"
RequestTimeout = "1m30s"
LoadBalancer {
  Policy = "ring_hash"
  RingHashConfig {
    MinimumRingSize = 1024
    MaximumRingSize = 18446744073709551615
  }
  HashPolicies = [
    {
      Field = "cookie"
      FieldValue = "session"
      CookieConfig {
        TTL = "5m0s"
        Path = "/"
      }
    },
    {
      SourceIP = true
      Terminal = true
    },
  ]
}
Meta = {
  "a b" = "spaced"
  owner = "team-a"
  "true" = "key that scans as a boolean"
}
