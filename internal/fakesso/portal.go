package fakesso

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// bearerHeader carries the access token to the portal. Go canonicalizes it
// to X-Amz-Sso_bearer_token, as the SDK sends it.
const bearerHeader = "x-amz-sso_bearer_token"

// authorized answers 401 unless the request carries a valid access token.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	if !s.validAccessToken(r.Header.Get(bearerHeader), now) {
		portalError(w, 401, "UnauthorizedException", "Session token not found or invalid")
		return false
	}
	return true
}

func (s *Server) getRoleCredentials(w http.ResponseWriter, r *http.Request, now time.Time) {
	q := r.URL.Query()
	roleName, accountID := q.Get("role_name"), q.Get("account_id")
	if roleName == "" || accountID == "" {
		portalError(w, 400, "InvalidRequestException", "role_name and account_id are required")
		return
	}
	if !s.authorized(w, r, now) {
		return
	}
	if a := s.account(accountID); a == nil || !slices.Contains(a.Roles, roleName) {
		// Not in the service model, so the SDK returns it as a generic
		// smithy.APIError with this code; this is what the service says.
		portalError(w, 403, "ForbiddenException", "No access")
		return
	}
	const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	writeJSON(w, 200, map[string]any{"roleCredentials": map[string]any{
		"accessKeyId":     randomString("ASIA", 16, upperAlnum),
		"secretAccessKey": randomString("", 40, alnum),
		"sessionToken":    randomString("IQoJb3JpZ2luX2Vj", 300),
		"expiration":      now.Add(s.opts.RoleCredentialsTTL).UnixMilli(),
	}})
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, now time.Time) {
	if !s.authorized(w, r, now) {
		return
	}
	page, next, ok := s.paginate(w, r, len(s.opts.Accounts))
	if !ok {
		return
	}
	list := []map[string]any{}
	for _, a := range s.opts.Accounts[page[0]:page[1]] {
		list = append(list, map[string]any{"accountId": a.ID, "accountName": a.Name, "emailAddress": a.Email})
	}
	out := map[string]any{"accountList": list}
	if next != "" {
		out["nextToken"] = next
	}
	writeJSON(w, 200, out)
}

func (s *Server) listAccountRoles(w http.ResponseWriter, r *http.Request, now time.Time) {
	accountID := r.URL.Query().Get("account_id")
	if accountID == "" {
		portalError(w, 400, "InvalidRequestException", "account_id is required")
		return
	}
	if !s.authorized(w, r, now) {
		return
	}
	var roles []string
	if a := s.account(accountID); a != nil {
		roles = a.Roles
	}
	page, next, ok := s.paginate(w, r, len(roles))
	if !ok {
		return
	}
	list := []map[string]any{}
	for _, role := range roles[page[0]:page[1]] {
		list = append(list, map[string]any{"roleName": role, "accountId": accountID})
	}
	out := map[string]any{"roleList": list}
	if next != "" {
		out["nextToken"] = next
	}
	writeJSON(w, 200, out)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, now time.Time) {
	if !s.authorized(w, r, now) {
		return
	}
	s.accessTokens[r.Header.Get(bearerHeader)].revoked = true
	w.Header().Set("X-Amzn-Requestid", randomString("", 24))
	w.WriteHeader(200)
}

func (s *Server) account(id string) *Account {
	for i := range s.opts.Accounts {
		if s.opts.Accounts[i].ID == id {
			return &s.opts.Accounts[i]
		}
	}
	return nil
}

// paginate reads max_result and next_token (an opaque offset) for a list of
// n items, answering InvalidRequestException for bad ones.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, n int) (page [2]int, next string, ok bool) {
	q := r.URL.Query()
	size := s.opts.PageSize
	if v := q.Get("max_result"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 1 || m > 100 {
			portalError(w, 400, "InvalidRequestException", "max_result must be between 1 and 100")
			return page, "", false
		}
		size = m
	}
	start := 0
	if v := q.Get("next_token"); v != "" {
		rest, found := strings.CutPrefix(v, nextTokenPrefix)
		off, err := strconv.Atoi(rest)
		if !found || err != nil || off < 0 || off > n {
			portalError(w, 400, "InvalidRequestException", "Invalid nextToken")
			return page, "", false
		}
		start = off
	}
	end := min(start+size, n)
	if end < n {
		next = nextTokenPrefix + strconv.Itoa(end)
	}
	return [2]int{start, end}, next, true
}

const nextTokenPrefix = "fakesso-page-"
