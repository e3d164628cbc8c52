<?php
// Installed as vendor/autoload.php by tests/apps/install.sh. The libraries are Debian's
// (/usr/share/php, copied into vendor/php): only that copy is on the include path, so the app needs
// nothing outside its task root.
set_include_path(__DIR__ . '/php');
require_once 'Slim/autoload.php';
