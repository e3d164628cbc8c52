<?php
// Laravel on lambda-fpm's event handler, shipped in the layer as /opt/lambda-fpm/php/laravel.php.
//
//   // worker.php in the task root, with LAMBDA_FPM_EVENT_HANDLER=worker.php
//   require __DIR__ . '/vendor/autoload.php';
//   $app = require __DIR__ . '/bootstrap/app.php';
//   require '/opt/lambda-fpm/php/laravel.php';
//   LambdaFpm\Laravel\EventHandler::run($app, ['connection' => 'sqs', 'tries' => 3]);
//
// SQS records run as queued jobs through Laravel's own queue worker (Illuminate\Queue\Worker), with its
// semantics: `tries`/`maxTries`, `retryUntil`, `maxExceptions`, `backoff`, `timeout`, `failOnTimeout`,
// the job's `failed()` method and the `failed_jobs` table. A job released back onto the queue (an
// exception before its last try, `$this->release()`) is reported in `batchItemFailures`, so SQS delivers
// it again; its attempt number is the message's ApproximateReceiveCount, as with Laravel's SQS driver.
// A job that failed for good is in `failed_jobs` and is *not* reported: Laravel deletes failed jobs
// from their queue, and SQS would otherwise run it (and its failed()) again on every delivery.
// EventBridge schedules run `schedule:run`; other events go to the `events` option. See docs/events.md.

declare(strict_types=1);

namespace LambdaFpm\Laravel;

require_once __DIR__ . '/lambda-fpm.php';

use Illuminate\Contracts\Console\Kernel as ConsoleKernel;
use Illuminate\Contracts\Debug\ExceptionHandler;
use Illuminate\Contracts\Foundation\Application;
use Illuminate\Contracts\Queue\Job as JobContract;
use Illuminate\Queue\Events\JobFailed;
use Illuminate\Queue\Jobs\Job;
use Illuminate\Queue\Worker;
use Illuminate\Queue\WorkerOptions;
use LambdaFpm\BatchGuard;
use LambdaFpm\Event;

use function LambdaFpm\fail;
use function LambdaFpm\logLine;
use function LambdaFpm\respond;
use function LambdaFpm\sqsQueueUrl;

final class EventHandler
{
    /**
     * Options, named like `queue:work`'s: `connection` (the queue connection the jobs were pushed
     * with, default "sqs"), `tries` (default 1), `backoff` (seconds, default 0), `timeout` (seconds,
     * default 60), and `events`: a callable(array|mixed $event, string $source) for other events,
     * whose return value is the result.
     */
    public static function run(Application $app, array $options = []): void
    {
        // Jobs and scheduled tasks run as under artisan (queue:work, schedule:run): URLs from APP_URL,
        // and a fatal error rendered for the console instead of as an HTML page in the result.
        (fn () => $this->isRunningInConsole = true)->call($app);
        $app->make(ConsoleKernel::class)->bootstrap();
        try {
            $event = Event::fromRequest();
            $handler = new self($app, $options + ['connection' => 'sqs', 'tries' => 1, 'backoff' => 0, 'timeout' => 60]);
            if ($event->source === 'aws:sqs') {
                $handler->sqs($event);
                return;
            }
            respond($handler->other($event));
        } catch (\Throwable $e) {
            $app[ExceptionHandler::class]->report($e);
            fail($e);
        }
    }

    private function __construct(private readonly Application $app, private readonly array $options)
    {
    }

    private function other(Event $event): mixed
    {
        if ($event->isSchedule()) {
            $kernel = $this->app->make(ConsoleKernel::class);
            $code = $kernel->call('schedule:run');
            return ['exitCode' => $code, 'output' => $kernel->output()];
        }
        if (isset($this->options['events'])) {
            return ($this->options['events'])($event->data, $event->source);
        }
        throw new \RuntimeException("no handler for events from {$event->source}: pass 'events' => callable to LambdaFpm\\Laravel\\EventHandler::run()");
    }

    private function sqs(Event $event): void
    {
        $connection = (string) $this->options['connection'];
        $worker = new LambdaWorker($this->app['queue'], $this->app['events'], $this->app[ExceptionHandler::class], fn () => false);
        if ($this->app->bound('cache')) {
            // maxExceptions counts a job's exceptions in the cache, as queue:work does.
            $worker->setCache($this->app['cache']->driver());
        }
        $options = new WorkerOptions('default', $this->options['backoff'], 512, (int) $this->options['timeout'], 0, (int) $this->options['tries']);
        // queue:work records failed jobs itself (WorkCommand::logFailedJob): so does this handler.
        $this->app['events']->listen(JobFailed::class, function (JobFailed $failed): void {
            $this->app['queue.failer']->log($failed->connectionName, $failed->job->getQueue(), $failed->job->getRawBody(), $failed->exception);
        });
        $records = $event->records();
        $sqs = $this->sqsClient($connection);
        $job = null;
        $guard = new BatchGuard(array_map(fn ($r) => (string) $r['messageId'], $records), function (?array $error) use (&$job, $worker, $options): bool {
            return $job !== null && $worker->stopped($job, $options, $error);
        });
        foreach ($records as $i => $record) {
            $job = new SqsJob($this->app, $record, $connection, sqsQueueUrl($record), $sqs);
            $guard->start($i);
            $this->limitTime($job, $options, $event);
            try {
                $worker->process($connection, $job, $options);
            } catch (\Throwable $e) {
                // process() rethrows the job's exception once it is released or failed.
                $this->app[ExceptionHandler::class]->report($e);
            }
            set_time_limit(0);
            if ($job->isReleased() || !$job->isDeleted()) {
                $guard->fail($i);
            }
        }
        $guard->answer();
    }

    /**
     * The job's timeout as PHP's time limit. PHP counts CPU time for it on Linux, so it stops a job
     * that computes too long; a job waiting on I/O past the invocation's deadline is stopped by
     * lambda-fpm instead (which kills the worker: the whole batch then returns to the queue).
     */
    private function limitTime(JobContract $job, WorkerOptions $options, Event $event): void
    {
        $timeout = $job->timeout() ?? $options->timeout;
        $remaining = $event->remainingMs();
        if ($remaining !== null) {
            $timeout = $timeout > 0 ? min($timeout, max(1, intdiv($remaining, 1000))) : max(1, intdiv($remaining, 1000));
        }
        set_time_limit((int) $timeout);
    }

    /** The SQS client of an `sqs` connection, so that `release($delay)` delays the message as queue:work's does. */
    private function sqsClient(string $connection): ?object
    {
        try {
            $queue = $this->app['queue']->connection($connection);
            return method_exists($queue, 'getSqs') ? $queue->getSqs() : null;
        } catch (\Throwable) {
            return null;
        }
    }
}

/** Laravel's worker, with its timeout handling callable after PHP stopped a job. */
final class LambdaWorker extends Worker
{
    /**
     * A job stopped by PHP (its time limit, memory): settled as queue:work settles a job its timeout
     * killed (fails it after its last try, or with failOnTimeout). Returns whether it failed for good.
     */
    public function stopped(Job $job, WorkerOptions $options, ?array $error): bool
    {
        $timedOut = str_contains((string) ($error['message'] ?? ''), 'Maximum execution time');
        logLine(sprintf('job %s (%s) stopped: %s', $job->getJobId(), $job->resolveName(), $error['message'] ?? 'PHP ended'));
        if ($timedOut && !$job->hasFailed()) {
            set_time_limit(0);
            $e = $this->maxAttemptsExceededException($job);
            $this->markJobAsFailedIfWillExceedMaxAttempts($job->getConnectionName(), $job, (int) $options->maxTries, $e);
            $this->markJobAsFailedIfWillExceedMaxExceptions($job->getConnectionName(), $job, $e);
            $this->markJobAsFailedIfItShouldFailOnTimeout($job->getConnectionName(), $job, $e);
        }
        return $job->hasFailed();
    }
}

/** One SQS record as a Laravel job; Lambda deletes the records not reported as failures. */
final class SqsJob extends Job implements JobContract
{
    public function __construct($container, private readonly array $record, $connectionName, $queue, private readonly ?object $sqs)
    {
        $this->container = $container;
        $this->connectionName = $connectionName;
        $this->queue = $queue;
    }

    public function release($delay = 0)
    {
        parent::release($delay);
        if ($this->sqs !== null && $delay > 0) {
            try {
                $this->sqs->changeMessageVisibility([
                    'QueueUrl' => $this->queue,
                    'ReceiptHandle' => $this->record['receiptHandle'],
                    'VisibilityTimeout' => $delay,
                ]);
            } catch (\Throwable $e) {
                logLine("could not delay job {$this->getJobId()} by {$delay} s: {$e->getMessage()}");
            }
        }
    }

    public function attempts()
    {
        return (int) ($this->record['attributes']['ApproximateReceiveCount'] ?? 1);
    }

    public function getJobId()
    {
        return $this->record['messageId'];
    }

    public function getRawBody()
    {
        return $this->record['body'];
    }
}
