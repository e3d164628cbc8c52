<?php
// Run by install.sh with the PHP CLI: creates the tables, the admin user and pretty permalinks.
// Usage: php install-wp.php TASK_ROOT ADMIN_PASSWORD (database settings from WORDPRESS_DB_* variables).
define('WP_INSTALLING', true);
$_SERVER['HTTP_HOST'] = 'localhost';
$_SERVER['REQUEST_URI'] = '/';
require $argv[1] . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
$result = wp_install('WordPress on lambda-fpm', 'admin', 'admin@example.com', true, '', $argv[2]);
update_option('permalink_structure', '/%postname%/');
update_option('blogdescription', 'Served by lambda-fpm');
echo "WordPress installed: admin user id {$result['user_id']}\n";
