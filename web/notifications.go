package web

import (
	"context"
	"net/http"
	"slices"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// This file holds notifications (what the health checks and finished
// tasks raised) and each user's own choice of alerts: their API and their
// page. Every user sees the notifications of the objects they may see.

// notificationFilter is what u's list of notifications keeps.
func notificationFilter(u *aegir.User, page, perPage int) aegir.NotificationFilter {
	scope, types := hosting.ListScope(u, hosting.KindTask)
	return aegir.NotificationFilter{Page: page, PerPage: perPage, Scope: scope, ObjectTypes: types}
}

// listNotifications shows one page of notifications, newest first.
func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	page, perPage, err := pageParams(r)
	if err != nil {
		return err
	}
	list, total, err := s.Store.ListNotifications(r.Context(), notificationFilter(u, page, perPage))
	if err != nil {
		return err
	}
	if list == nil {
		list = []*aegir.Notification{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": list, "total": total, "page": page, "per_page": perPage})
	return nil
}

// getAlerts shows the user's own choice of alerts (without the webhook's
// secret, which only its owner had and gave once).
func (s *Server) getAlerts(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	a, err := s.Store.GetAlertSubscription(r.Context(), u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": alertsJSON(a)})
	return nil
}

func alertsJSON(a *aegir.AlertSubscription) map[string]any {
	events := a.Events
	if events == nil {
		events = []string{}
	}
	return map[string]any{"events": events, "email": a.Email, "webhook_url": a.WebhookURL,
		"webhook_secret_set": a.WebhookSecret != "", "choices": aegir.AlertEvents}
}

// putAlerts replaces the user's own choice of alerts: events, email,
// webhook_url, webhook_secret. A missing webhook_secret keeps the one set
// for the same webhook_url.
func (s *Server) putAlerts(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	in := &aegir.AlertSubscription{UserID: u.ID}
	events, err := b.takeStrings("events")
	if err != nil {
		return err
	}
	if events != nil {
		in.Events = *events
	}
	if email, err := b.takeBool("email"); err != nil {
		return err
	} else if email != nil {
		in.Email = *email
	}
	if in.WebhookURL, _, err = b.takeString("webhook_url"); err != nil {
		return err
	}
	secret, secretGiven, err := b.takeString("webhook_secret")
	if err != nil {
		return err
	}
	for k := range b {
		return aegir.FieldErrorf(k, "is not a field of alerts (events, email, webhook_url, webhook_secret)")
	}
	a, err := s.saveAlerts(r.Context(), in, secret, secretGiven)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": alertsJSON(a)})
	return nil
}

// saveAlerts stores in, with secret when given, else the secret the user
// set before for the same webhook.
func (s *Server) saveAlerts(ctx context.Context, in *aegir.AlertSubscription, secret string, secretGiven bool) (*aegir.AlertSubscription, error) {
	in.Events = slices.Compact(slices.Sorted(slices.Values(in.Events)))
	in.WebhookSecret = secret
	if !secretGiven && in.WebhookURL != "" {
		old, err := s.Store.GetAlertSubscription(ctx, in.UserID)
		if err != nil {
			return nil, err
		}
		if old.WebhookURL == in.WebhookURL {
			in.WebhookSecret = old.WebhookSecret
		}
	}
	if in.WebhookURL == "" {
		in.WebhookSecret = ""
	}
	if err := s.Store.SetAlertSubscription(ctx, in); err != nil {
		return nil, err
	}
	return in, nil
}

// --- page ---

type notificationsData struct {
	List          listPage
	Notifications []*aegir.Notification
	Alerts        *aegir.AlertSubscription
	Events        []string
	Form          *form
	Saved         bool
}

func (s *Server) notificationsPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	return s.renderNotifications(w, r, u, http.StatusOK, nil, false)
}

func (s *Server) renderNotifications(w http.ResponseWriter, r *http.Request, u *aegir.User, status int, f *form, saved bool) error {
	ctx := r.Context()
	list, total, err := s.Store.ListNotifications(ctx, notificationFilter(u, pageNumber(r), uiPerPage))
	if err != nil {
		return err
	}
	a, err := s.Store.GetAlertSubscription(ctx, u.ID)
	if err != nil {
		return err
	}
	if f == nil {
		f = newForm()
		f.Values["webhook_url"] = a.WebhookURL
	}
	d := notificationsData{List: newListPage(r, total, uiPerPage), Notifications: list, Alerts: a, Events: aegir.AlertEvents, Form: f, Saved: saved}
	return s.render(w, r, u, status, "notifications", "Notifications", d)
}

// alertsSubmit saves the user's choice of alerts from the page's form.
func (s *Server) alertsSubmit(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	f := formOf(r, "webhook_url", "webhook_secret")
	in := &aegir.AlertSubscription{UserID: u.ID, WebhookURL: f.Values["webhook_url"], Email: r.PostFormValue("email") != ""}
	in.Events = r.PostForm["events"]
	secret := f.Values["webhook_secret"]
	// The secret is never shown back in the form.
	delete(f.Values, "webhook_secret")
	if _, err := s.saveAlerts(r.Context(), in, secret, secret != ""); err != nil {
		status, err := f.fail(err)
		if err != nil {
			return err
		}
		return s.renderNotifications(w, r, u, status, f, false)
	}
	return s.renderNotifications(w, r, u, http.StatusOK, nil, true)
}
