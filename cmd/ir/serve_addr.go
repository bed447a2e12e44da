package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// envHost names the address `ir serve` listens on when --host is not
// given: HOST or HOST:PORT, as in IR_HOST=0.0.0.0:11435 (a container).
const envHost = "IR_HOST"

// parseListenAddr reads an IR_HOST value: a host name or address
// ("0.0.0.0", "::", "[::1]") with or without a port. port is -1 when none
// is given.
func parseListenAddr(v string) (host string, port int, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", -1, fmt.Errorf("%s is empty", envHost)
	}
	if h, p, err := net.SplitHostPort(v); err == nil {
		n, perr := strconv.Atoi(p)
		if perr != nil || n < 0 || n > 65535 {
			return "", -1, fmt.Errorf("%s=%q: port %q is not a number between 0 and 65535", envHost, v, p)
		}
		if h == "" {
			h = "0.0.0.0" // ":11435" means every interface, as in Go and Ollama
		}
		return h, n, nil
	}
	if strings.Count(v, ":") > 1 && !strings.HasPrefix(v, "[") {
		return v, -1, nil // a bare IPv6 address
	}
	if strings.ContainsAny(v, ":/[]") {
		return "", -1, fmt.Errorf("%s=%q is not HOST or HOST:PORT", envHost, v)
	}
	return v, -1, nil
}
