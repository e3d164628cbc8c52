<?php
// The event handler (LAMBDA_FPM_EVENT_HANDLER=worker.php): SQS records run as queued jobs, EventBridge
// schedules run schedule:run, through the layer's Laravel glue. On Lambda it is /opt/lambda-fpm/php;
// elsewhere LAMBDA_FPM_PHP_DIR names a copy of the repo's layer-build/php.
require __DIR__ . '/vendor/autoload.php';
$app = require __DIR__ . '/bootstrap/app.php';
require (getenv('LAMBDA_FPM_PHP_DIR') ?: '/opt/lambda-fpm/php') . '/laravel.php';

LambdaFpm\Laravel\EventHandler::run($app, ['connection' => 'outbox']);
