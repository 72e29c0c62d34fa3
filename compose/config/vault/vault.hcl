storage "file" { path = "/vault/file" }
listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = 1 # internal network only; nginx terminates TLS for anything public
}
ui = false
disable_mlock = false
api_addr = "http://vault:8200"
