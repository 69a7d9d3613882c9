package registry

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// TokenPath is where a registry started with Options.Token hands out its
// token, the realm its WWW-Authenticate answers name.
const TokenPath = "/token"

// TokenService is the service name those answers give.
const TokenService = "stagex-registry"

// requireToken makes every /v2/ request carry "Authorization: Bearer
// token", as registries that want a token even for anonymous pulls do, and
// serves the token, to anyone, at TokenPath. A request without it gets 401
// and a WWW-Authenticate header naming the realm, which is how clients
// learn where to ask.
func requireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == TokenPath {
			if r.Method != http.MethodGet {
				http.Error(w, "use GET", http.StatusMethodNotAllowed)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"token": token, "access_token": token})
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			realm := "http://" + r.Host + TokenPath
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q,service=%q", realm, TokenService))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, `{"errors":[{"code":"UNAUTHORIZED","message":"a bearer token is required"}]}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}
