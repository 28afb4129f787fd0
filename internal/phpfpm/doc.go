// Package phpfpm writes the php-fpm pools of sites (aegir.PHPPool) into a
// server's pool directory, config/<server>/php-fpm, and makes them live
// through the engine of internal/webconf, as vhosts are: pools written at
// the same time are tested together (php-fpm -t) and reloaded once (a
// USR2 signal to the master), each caller learns its own result, and a
// pool php-fpm rejects is put back before any reload.
//
// The http service drivers use it beside their vhosts (nginx). It imports
// only the domain package, internal/webconf and the standard library.
package phpfpm
