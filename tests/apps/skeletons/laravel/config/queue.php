<?php

$tmp = rtrim(getenv('TMPDIR') ?: sys_get_temp_dir(), '/') . '/laravel';

return [
    // On Lambda this is `sqs`; the suite uses the outbox (app/Queue/OutboxQueue.php) in its place.
    'default' => env('QUEUE_CONNECTION', 'outbox'),
    'connections' => [
        'sync' => ['driver' => 'sync'],
        'outbox' => ['driver' => 'outbox', 'path' => $tmp . '/outbox.jsonl'],
        'sqs' => [
            'driver' => 'sqs',
            'key' => env('AWS_ACCESS_KEY_ID'),
            'secret' => env('AWS_SECRET_ACCESS_KEY'),
            'prefix' => env('SQS_PREFIX', 'https://sqs.us-east-1.amazonaws.com/your-account-id'),
            'queue' => env('SQS_QUEUE', 'default'),
            'region' => env('AWS_DEFAULT_REGION', 'us-east-1'),
        ],
    ],
    'failed' => [
        'driver' => 'database-uuids',
        'database' => 'sqlite',
        'table' => 'failed_jobs',
    ],
];
