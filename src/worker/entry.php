<?php
// lambda-fpm's entry for events (LAMBDA_FPM_EVENT_HANDLER), written to the runtime directory at init and
// run by php-fpm in place of the handler. It runs the handler as if php-fpm had, and tells the runtime
// PHP's message when the handler dies of a fatal error: php-fpm sends PHP's messages only to its own log,
// where lines cannot be matched with a request, and turning fastcgi.logging on for one request would
// leave it on for every later request of that worker (php-fpm applies PHP_VALUE to the worker for good).
//
// The output is buffered so that the header can still be sent after a fatal error; the runtime reads it
// only when the handler failed (status >= 400, or output that is not JSON).

register_shutdown_function(static function (): void {
    // Registered from a shutdown function, so it runs after the handler's own shutdown functions.
    register_shutdown_function(static function (): void {
        $error = error_get_last();
        $fatal = E_ERROR | E_PARSE | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_RECOVERABLE_ERROR;
        if ($error === null || ($error['type'] & $fatal) === 0 || headers_sent()) {
            return;
        }
        $message = substr($error['message'], 0, 4000) . ' in ' . $error['file'] . ':' . $error['line'];
        header('X-Lambda-Fpm-Php-Error: ' . rawurlencode($message));
    });
});

$_SERVER['SCRIPT_FILENAME'] = $_SERVER['LAMBDA_FPM_HANDLER_SCRIPT'];
unset($_SERVER['LAMBDA_FPM_HANDLER_SCRIPT']);
ob_start();
require $_SERVER['SCRIPT_FILENAME'];
