<?php
// The console of layer-build/test-layer.sh (LAMBDA_FPM_CONSOLE=console.php): `info` prints what the layer's
// PHP CLI runs with; `exit N` exits with N.
if (($argv[1] ?? '') === 'exit') {
    fwrite(STDERR, "exiting with {$argv[2]}\n");
    exit((int) $argv[2]);
}
echo json_encode([
    'args' => array_slice($argv, 1),
    'version' => PHP_VERSION,
    'binary' => PHP_BINARY,
    'ini' => php_ini_loaded_file(),
    'cwd' => getcwd(),
    'pcntl' => extension_loaded('pcntl'),
    'pdo_sqlite' => extension_loaded('pdo_sqlite'),
    'tmp' => sys_get_temp_dir(),
    'timezone' => date_default_timezone_get(),
    'uid' => posix_getuid(),
], JSON_UNESCAPED_SLASHES), "\n";
