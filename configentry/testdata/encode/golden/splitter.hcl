Kind = "service-splitter"
Name = "web"
Splits = [
  {
    Weight = 33.33
    ServiceSubset = "v1"
    RequestHeaders {
      Set = {
        "x-split" = "one"
      }
    }
  },
  {
    Weight = 33.33
    Service = "web-next"
  },
  {
    Weight = 33.34
    Service = "web-peer"
    ResponseHeaders {
      Remove = ["Server"]
    }
  },
  {},
  {
    Weight = 1e-45
  },
  {
    Weight = 3.4028235e+38
  },
]
