Kind = "exported-services"
Name = "default"
Services = [
  {
    Name = "web"
    Consumers = [
      {
        Peer = "east"
      },
      {
        Peer = "west"
      },
    ]
  },
  {
    Name = "*"
    Consumers = [
      {
        Peer = "dc3"
      },
    ]
  },
]
Meta = {
  note = "line one\nline two\ttabbed \"quoted\" \\ backslash \u0001 control"
}
