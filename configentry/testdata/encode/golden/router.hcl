Kind = "service-router"
Name = "web"
Routes = [
  {
    Match {
      HTTP {
        PathPrefix = "/api"
        CaseInsensitive = true
        Header = [
          {
            Name = "x-debug"
            Exact = "1"
          },
          {
            Name = "x-canary"
            Present = true
            Invert = true
          },
        ]
        QueryParam = [
          {
            Name = "beta"
            Regex = "^(yes|1)$"
          },
        ]
        Methods = ["GET", "POST"]
      }
    }
    Destination {
      Service = "api"
      ServiceSubset = "v2"
      PrefixRewrite = "/"
      RequestTimeout = "10s"
      IdleTimeout = "1h0m0.000000001s"
      NumRetries = 3
      RetryOnConnectFailure = true
      RetryOn = ["5xx", "reset"]
      RetryOnStatusCodes = [503, 504]
      RequestHeaders {
        Add = {
          "X-Route" = "api"
        }
        Remove = ["Cookie"]
      }
      ResponseHeaders {
        Set = {
          "Cache-Control" = "no-store"
        }
      }
    }
  },
  {
    Match {
      HTTP {
        PathExact = "/"
      }
    }
  },
  {},
]
