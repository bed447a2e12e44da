package modelstore

import (
	"net/http"
	"net/url"
)

// EnvToken names the environment variable holding a Hugging Face access
// token, needed for gated repositories.
const EnvToken = "HF_TOKEN"

// authTransport adds a bearer token to requests for one host only: the
// store itself, never the CDN it redirects downloads to.
type authTransport struct {
	next  http.RoundTripper
	host  string
	token string
}

func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != a.host || req.Header.Get("Authorization") != "" {
		return a.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+a.token)
	return a.next.RoundTrip(r)
}

// WithToken returns a copy of client that sends token to the host of
// baseURL (and nowhere else). An empty token returns client unchanged.
func WithToken(client *http.Client, baseURL, token string) *http.Client {
	u, err := url.Parse(baseURL)
	if token == "" || err != nil || u.Host == "" {
		return client
	}
	c := *client
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &authTransport{next: next, host: u.Host, token: token}
	return &c
}
