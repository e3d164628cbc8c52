<?php
// The event handler (LAMBDA_FPM_EVENT_HANDLER=worker.php): SQS records become Messenger envelopes for
// their handlers, through the layer's Symfony glue. On Lambda it is /opt/lambda-fpm/php; elsewhere
// LAMBDA_FPM_PHP_DIR names a copy of the repo's layer-build/php.
use App\Kernel;

require __DIR__ . '/vendor/autoload.php';
require (getenv('LAMBDA_FPM_PHP_DIR') ?: '/opt/lambda-fpm/php') . '/symfony-messenger.php';

LambdaFpm\Symfony\MessengerHandler::run(
    new Kernel($_SERVER['APP_ENV'] ?? 'prod', (bool) ($_SERVER['APP_DEBUG'] ?? false)),
    ['transport' => 'async'],
);
