<?php
// Installed as vendor/autoload.php by tests/apps/install.sh. The framework is Debian's
// php-laravel-framework (/usr/share/php, copied into vendor/php): only that copy is on the include path.
set_include_path(__DIR__ . '/php');
require_once 'Illuminate/autoload.php';
spl_autoload_register(function (string $class): void {
    if (strncmp($class, 'App\\', 4) === 0) {
        $file = __DIR__ . '/../app/' . str_replace('\\', '/', substr($class, 4)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
