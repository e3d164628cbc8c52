<?php
// The event handler of layer-build/test-layer.sh (LAMBDA_FPM_EVENT_HANDLER=worker.php), on the layer's
// PHP glue: an SQS record whose body is "fail" is reported in batchItemFailures; any other event is
// answered with its source and what PHP runs as.
declare(strict_types=1);

require '/opt/lambda-fpm/php/lambda-fpm.php';

$event = LambdaFpm\Event::fromRequest();
if ($event->source === 'aws:sqs') {
    $records = $event->records();
    $batch = new LambdaFpm\BatchGuard(array_column($records, 'messageId'), fn (): bool => false);
    foreach ($records as $i => $record) {
        $batch->start($i);
        if ($record['body'] === 'fail') {
            $batch->fail($i);
        }
    }
    $batch->answer();
    return;
}
LambdaFpm\respond(['source' => $event->source, 'sapi' => PHP_SAPI, 'uid' => posix_getuid()]);
