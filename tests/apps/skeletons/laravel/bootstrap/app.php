<?php
// The task root is read-only on Lambda: storage/ (sessions, compiled Blade views, logs) and the
// bootstrap/cache files (packages.php, services.php) go under $TMPDIR (/tmp on Lambda), unless they
// were made with the app (below).
$tmp = rtrim(getenv('TMPDIR') ?: sys_get_temp_dir(), '/') . '/laravel';
foreach (['', '/cache', '/storage/framework/sessions', '/storage/framework/views', '/storage/framework/cache', '/storage/logs'] as $dir) {
    if (!is_dir($tmp . $dir)) {
        @mkdir($tmp . $dir, 0700, true);
    }
}
// The SQLite database (config/database.php): Laravel's SQLite connector wants the file to exist.
if (!is_file($tmp . '/database.sqlite')) {
    @touch($tmp . '/database.sqlite');
}
// Laravel's build-time caches (`mkdir bootstrap/cache`, then `php artisan config:cache`, `route:cache`,
// `view:cache` and `event:cache`, as `layer-build/precompile.sh --laravel` runs them) stay in the task root,
// where they were made.
if (!is_dir(dirname(__DIR__) . '/bootstrap/cache')) {
    foreach (['APP_PACKAGES_CACHE' => 'packages.php', 'APP_SERVICES_CACHE' => 'services.php'] as $name => $file) {
        if (!isset($_SERVER[$name])) {
            $_SERVER[$name] = $_ENV[$name] = "$tmp/cache/$file";
        }
    }
}

$app = new Illuminate\Foundation\Application(dirname(__DIR__));
$app->useStoragePath($tmp . '/storage');

$app->singleton(Illuminate\Contracts\Http\Kernel::class, App\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Console\Kernel::class, App\Console\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, Illuminate\Foundation\Exceptions\Handler::class);

return $app;
