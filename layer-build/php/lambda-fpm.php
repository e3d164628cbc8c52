<?php
// lambda-fpm's event helpers for PHP, shipped in the layer as /opt/lambda-fpm/php/lambda-fpm.php.
// An event handler (LAMBDA_FPM_EVENT_HANDLER) gets the event as the JSON body of a POST, its source in
// $_SERVER['LAMBDA_EVENT_SOURCE'] and the invocation in $_SERVER['LAMBDA_INVOCATION_CONTEXT']; what it
// prints is the invocation's result and must be JSON. See docs/events.md.

declare(strict_types=1);

namespace LambdaFpm;

/** The event of this invocation. */
final class Event
{
    /** @param mixed $data the decoded event */
    private function __construct(
        public readonly string $raw,
        public readonly mixed $data,
        public readonly string $source,
        /** Unix epoch in milliseconds; null when the runtime has no deadline (local runs). */
        public readonly ?int $deadlineMs,
        public readonly string $requestId,
    ) {
    }

    /** The event of the current request, as lambda-fpm sent it. */
    public static function fromRequest(): self
    {
        $raw = (string) file_get_contents('php://input');
        $context = json_decode($_SERVER['LAMBDA_INVOCATION_CONTEXT'] ?? '{}', true) ?: [];
        return new self(
            $raw,
            json_decode($raw, true, 512, JSON_THROW_ON_ERROR),
            (string) ($_SERVER['LAMBDA_EVENT_SOURCE'] ?? 'direct'),
            isset($context['deadlineMs']) ? (int) $context['deadlineMs'] : null,
            (string) ($context['awsRequestId'] ?? ''),
        );
    }

    /** Milliseconds until the invocation's deadline (null without one). */
    public function remainingMs(): ?int
    {
        return $this->deadlineMs === null ? null : $this->deadlineMs - (int) floor(microtime(true) * 1000);
    }

    /** An EventBridge schedule (a rule's or EventBridge Scheduler's "Scheduled Event"). */
    public function isSchedule(): bool
    {
        return $this->source === 'aws.events' && is_array($this->data)
            && ($this->data['detail-type'] ?? null) === 'Scheduled Event';
    }

    /** @return list<array<string, mixed>> the records of an SQS, SNS, S3, DynamoDB or Kinesis event */
    public function records(): array
    {
        return is_array($this->data) && is_array($this->data['Records'] ?? null) ? $this->data['Records'] : [];
    }
}

/** Prints the invocation's result as JSON (what lambda-fpm returns to Lambda). */
function respond(mixed $result): void
{
    if (!headers_sent()) {
        http_response_code(200);
        header('Content-Type: application/json');
    }
    echo json_encode($result, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_THROW_ON_ERROR);
}

/**
 * Fails the invocation with `$e`: status 500 and its class, message and place as the output, which
 * lambda-fpm quotes in the `/error` it reports.
 */
function fail(\Throwable $e): void
{
    if (!headers_sent()) {
        http_response_code(500);
        header('Content-Type: text/plain; charset=UTF-8');
    }
    echo $e::class, ': ', $e->getMessage(), ' in ', $e->getFile(), ':', $e->getLine();
}

/** A line for the function's logs (php-fpm's log, as PHP's own messages). */
function logLine(string $message): void
{
    error_log('lambda-fpm: ' . $message);
}

/**
 * The SQS queue URL of a record ("https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"), as the SDK names
 * queues, from its eventSourceARN ("arn:aws:sqs:REGION:ACCOUNT:NAME").
 */
function sqsQueueUrl(array $record): string
{
    $arn = explode(':', (string) ($record['eventSourceARN'] ?? ''));
    if (count($arn) < 6) {
        return (string) ($record['eventSourceARN'] ?? '');
    }
    $domain = str_starts_with($arn[3], 'cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    return "https://sqs.{$arn[3]}.{$domain}/{$arn[4]}/{$arn[5]}";
}

/**
 * Settles a batch when PHP dies in the middle of a record (a job past its time limit, memory
 * exhausted): the shutdown function calls `$settle($error)` for the record in progress, then answers
 * for the batch with the failures so far plus that record and every record not yet started, so that
 * records already done are not run again. Without it the invocation would fail and Lambda would
 * return the whole batch to the queue.
 */
final class BatchGuard
{
    /** @var list<array{itemIdentifier: string}> */
    public array $failures = [];
    private ?int $current = null;
    private bool $answered = false;

    /** @param list<string> $ids the records' identifiers, in order */
    public function __construct(private readonly array $ids, private readonly \Closure $settle)
    {
        register_shutdown_function(function (): void {
            if ($this->answered || $this->current === null) {
                return;
            }
            $failed = ($this->settle)(error_get_last());
            $rest = array_slice($this->ids, $this->current + ($failed ? 1 : 0));
            foreach ($rest as $id) {
                $this->failures[] = ['itemIdentifier' => $id];
            }
            logLine(sprintf('PHP stopped during record %s; %d record(s) returned to the queue', $this->ids[$this->current], count($rest)));
            $this->answer();
        });
    }

    public function start(int $index): void
    {
        $this->current = $index;
    }

    public function fail(int $index): void
    {
        $this->failures[] = ['itemIdentifier' => $this->ids[$index]];
    }

    public function answer(): void
    {
        $this->answered = true;
        $this->current = null;
        respond(['batchItemFailures' => $this->failures]);
    }
}
