<?php
// Installed as vendor/autoload.php by tests/apps/install.sh. The framework is Debian's php-symfony
// and php-twig (/usr/share/php, copied into vendor/php): only that copy is on the include path.
set_include_path(__DIR__ . '/php');
require_once 'Symfony/autoload.php';
require_once 'Twig/autoload.php';
spl_autoload_register(function (string $class): void {
    if (strncmp($class, 'App\\', 4) === 0) {
        $file = __DIR__ . '/../src/' . str_replace('\\', '/', substr($class, 4)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
