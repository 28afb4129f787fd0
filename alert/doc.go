// Package alert raises the front end's notifications (a site down or back
// up, a failed backup or certificate renewal, an unreachable server),
// records them and delivers them to the users who chose them and may see
// their object: by e-mail over SMTP (net/smtp, with STARTTLS when the
// server offers it) and to webhooks, as JSON signed with HMAC-SHA256.
//
// It imports the domain and hosting's role rules; it must not import a
// store driver, the dispatcher, the schedulers or the HTTP layer.
package alert
