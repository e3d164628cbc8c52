<?php
/**
 * WordPress on lambda-fpm: configured only from the function's environment (replaces Debian's
 * wp-config.php, which reads /etc/wordpress). Set WORDPRESS_DB_HOST (host:port), WORDPRESS_DB_NAME,
 * WORDPRESS_DB_USER, WORDPRESS_DB_PASSWORD and WORDPRESS_SALT; optionally WORDPRESS_URL.
 */
define('DB_NAME', getenv('WORDPRESS_DB_NAME') ?: 'wordpress');
define('DB_USER', getenv('WORDPRESS_DB_USER') ?: 'wordpress');
define('DB_PASSWORD', getenv('WORDPRESS_DB_PASSWORD') ?: '');
define('DB_HOST', getenv('WORDPRESS_DB_HOST') ?: '127.0.0.1');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');

$lambda_fpm_salt = getenv('WORDPRESS_SALT') ?: 'change me: set WORDPRESS_SALT';
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $lambda_fpm_key) {
    define($lambda_fpm_key, hash('sha256', $lambda_fpm_key . $lambda_fpm_salt));
}
$table_prefix = 'wp_';

// The site URL follows the request (API Gateway domain, Function URL or `bootstrap serve`'s
// 127.0.0.1:PORT) unless WORDPRESS_URL pins it. lambda-fpm sets HTTPS=on unless X-Forwarded-Proto is http.
$lambda_fpm_scheme = (!empty($_SERVER['HTTPS']) && $_SERVER['HTTPS'] !== 'off') ? 'https' : 'http';
$lambda_fpm_url = getenv('WORDPRESS_URL') ?: $lambda_fpm_scheme . '://' . ($_SERVER['HTTP_HOST'] ?? 'localhost');
define('WP_HOME', $lambda_fpm_url);
define('WP_SITEURL', $lambda_fpm_url);

// Read-only code: no updates, no plugin/theme installs, no file editor.
define('DISALLOW_FILE_MODS', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
// WP-Cron spawns an HTTP request to itself on page views: run it from a schedule instead.
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('WP_TEMP_DIR', rtrim(getenv('TMPDIR') ?: '/tmp', '/'));
define('WP_CONTENT_DIR', __DIR__ . '/wp-content');
define('WP_DEBUG', false);

if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
