<?php
// Symfony Messenger on lambda-fpm's event handler, shipped in the layer as
// /opt/lambda-fpm/php/symfony-messenger.php.
//
//   // worker.php in the task root, with LAMBDA_FPM_EVENT_HANDLER=worker.php
//   require __DIR__ . '/vendor/autoload.php';
//   require '/opt/lambda-fpm/php/symfony-messenger.php';
//   LambdaFpm\Symfony\MessengerHandler::run(new App\Kernel('prod', false), ['transport' => 'async']);
//
// Each SQS record is decoded into an envelope by the transport's serializer (the message body, and the
// headers the SQS transport puts into message attributes) and dispatched on the bus as a received
// message, with the worker events `messenger:consume` dispatches (so retry, failure and logging
// listeners run). A message whose handler fails goes into `batchItemFailures`, so SQS delivers it again
// (and, after the queue's maxReceiveCount, to its dead-letter queue), unless Messenger's retry listener
// has already sent it again for a delayed retry: then this delivery is done.
// Other events go to the `events` option. See docs/events.md.

declare(strict_types=1);

namespace LambdaFpm\Symfony;

require_once __DIR__ . '/lambda-fpm.php';

use LambdaFpm\BatchGuard;
use LambdaFpm\Event;
use Psr\Log\LoggerInterface;
use Symfony\Component\EventDispatcher\EventDispatcherInterface;
use Symfony\Component\HttpKernel\KernelInterface;
use Symfony\Component\Messenger\Envelope;
use Symfony\Component\Messenger\Event\WorkerMessageFailedEvent;
use Symfony\Component\Messenger\Event\WorkerMessageHandledEvent;
use Symfony\Component\Messenger\Event\WorkerMessageReceivedEvent;
use Symfony\Component\Messenger\MessageBusInterface;
use Symfony\Component\Messenger\Stamp\ConsumedByWorkerStamp;
use Symfony\Component\Messenger\Stamp\ReceivedStamp;
use Symfony\Component\Messenger\Stamp\TransportMessageIdStamp;
use Symfony\Component\Messenger\Transport\Serialization\PhpSerializer;
use Symfony\Component\Messenger\Transport\Serialization\SerializerInterface;

use function LambdaFpm\fail;
use function LambdaFpm\logLine;
use function LambdaFpm\respond;

final class MessengerHandler
{
    /** The message attribute in which Symfony's SQS transport puts the headers that do not fit in others. */
    private const HEADERS_ATTRIBUTE = 'X-Symfony-Messenger';

    /**
     * Options: `transport` (the transport's name, as routing and retry configuration know it; default
     * "async"), `bus` (the bus's service id, default "messenger.default_bus"), `serializer` (the
     * transport's serializer; default Messenger's default, PhpSerializer), and `events`: a
     * callable(mixed $event, string $source) for other events, whose return value is the result.
     */
    public static function run(KernelInterface $kernel, array $options = []): void
    {
        try {
            self::handleRequest($kernel, $options);
        } catch (\Throwable $e) {
            logLine('the event handler failed: ' . $e::class . ': ' . $e->getMessage());
            fail($e);
        }
    }

    private static function handleRequest(KernelInterface $kernel, array $options): void
    {
        $kernel->boot();
        $container = $kernel->getContainer();
        $event = Event::fromRequest();
        if ($event->source !== 'aws:sqs') {
            if (!isset($options['events'])) {
                throw new \RuntimeException("no handler for events from {$event->source}: pass 'events' => callable to LambdaFpm\\Symfony\\MessengerHandler::run()");
            }
            respond(($options['events'])($event->data, $event->source));
            return;
        }
        $handler = new self(
            $container->get($options['bus'] ?? 'messenger.default_bus'),
            $container->get('event_dispatcher'),
            $options['serializer'] ?? new PhpSerializer(),
            (string) ($options['transport'] ?? 'async'),
            $container->has('logger') ? $container->get('logger') : null,
        );
        $handler->consume($event->records());
    }

    public function __construct(
        private readonly MessageBusInterface $bus,
        private readonly EventDispatcherInterface $events,
        private readonly SerializerInterface $serializer,
        private readonly string $transport,
        private readonly ?LoggerInterface $logger = null,
    ) {
    }

    /** Handles the records and answers with the failures. */
    public function consume(array $records): void
    {
        $guard = new BatchGuard(array_map(fn ($r) => (string) $r['messageId'], $records), fn (): bool => false);
        foreach ($records as $i => $record) {
            $guard->start($i);
            try {
                $this->handle($record);
            } catch (\Throwable $e) {
                $this->logger?->error('lambda-fpm: message {id} failed: {error}', ['id' => $record['messageId'], 'error' => $e->getMessage(), 'exception' => $e]);
                if ($this->logger === null) {
                    logLine("message {$record['messageId']} failed: " . $e::class . ': ' . $e->getMessage());
                }
                $guard->fail($i);
            }
        }
        $guard->answer();
    }

    private function handle(array $record): void
    {
        $envelope = $this->serializer->decode(['body' => $record['body'], 'headers' => $this->headers($record)])
            ->with(new TransportMessageIdStamp($record['messageId']));
        $received = new WorkerMessageReceivedEvent($envelope, $this->transport);
        $this->events->dispatch($received);
        if (!$received->shouldHandle()) {
            return;
        }
        $envelope = $received->getEnvelope();
        try {
            $envelope = $this->bus->dispatch($envelope->with(new ReceivedStamp($this->transport), new ConsumedByWorkerStamp()));
        } catch (\Throwable $e) {
            $failed = new WorkerMessageFailedEvent($envelope, $this->transport, $e);
            $this->events->dispatch($failed);
            if ($failed->willRetry()) {
                // Messenger's retry listener sent it again, delayed: this delivery is done.
                return;
            }
            throw $e;
        }
        $this->events->dispatch(new WorkerMessageHandledEvent($envelope, $this->transport));
    }

    /** The envelope's headers, from the message attributes Symfony's SQS transport writes. */
    private function headers(array $record): array
    {
        $headers = [];
        foreach ($record['messageAttributes'] ?? [] as $name => $attribute) {
            if (($attribute['dataType'] ?? '') !== 'String') {
                continue;
            }
            if ($name === self::HEADERS_ATTRIBUTE) {
                $headers += json_decode((string) $attribute['stringValue'], true) ?: [];
            } else {
                $headers[$name] = $attribute['stringValue'];
            }
        }
        return $headers;
    }
}
