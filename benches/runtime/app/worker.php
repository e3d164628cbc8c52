<?php
// The event handler of benches/events (LAMBDA_FPM_EVENT_HANDLER=worker.php): a hello job per SQS record,
// on the layer's PHP glue (LAMBDA_FPM_PHP_DIR: the repo's layer-build/php), as a plain-PHP app would.
require getenv('LAMBDA_FPM_PHP_DIR') . '/lambda-fpm.php';

$event = LambdaFpm\Event::fromRequest();
$records = $event->records();
$batch = new LambdaFpm\BatchGuard(array_column($records, 'messageId'), fn (): bool => false);
foreach ($records as $i => $record) {
    $batch->start($i);
    $job = json_decode($record['body'], true);
    if (($job['hello'] ?? null) !== 'world') {
        $batch->fail($i);
    }
}
$batch->answer();
