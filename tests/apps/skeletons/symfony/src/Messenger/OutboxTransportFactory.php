<?php

namespace App\Messenger;

use Symfony\Component\Messenger\Envelope;
use Symfony\Component\Messenger\Transport\Serialization\SerializerInterface;
use Symfony\Component\Messenger\Transport\TransportFactoryInterface;
use Symfony\Component\Messenger\Transport\TransportInterface;

/**
 * The suite's stand-in for the SQS transport (`outbox://`): sending a message appends what the
 * transport's serializer encodes (the body and headers an SQS transport sends) to a file, from which
 * the test makes the SQS event Lambda would deliver.
 */
class OutboxTransportFactory implements TransportFactoryInterface
{
    public function createTransport(string $dsn, array $options, SerializerInterface $serializer): TransportInterface
    {
        $path = rtrim(getenv('TMPDIR') ?: sys_get_temp_dir(), '/') . '/symfony/outbox.jsonl';
        return new class($path, $serializer) implements TransportInterface {
            public function __construct(private string $path, private SerializerInterface $serializer)
            {
            }

            public function send(Envelope $envelope): Envelope
            {
                @mkdir(dirname($this->path), 0700, true);
                file_put_contents($this->path, json_encode($this->serializer->encode($envelope)) . "\n", FILE_APPEND | LOCK_EX);
                return $envelope;
            }

            public function get(): iterable
            {
                return [];
            }

            public function ack(Envelope $envelope): void
            {
            }

            public function reject(Envelope $envelope): void
            {
            }
        };
    }

    public function supports(string $dsn, array $options): bool
    {
        return str_starts_with($dsn, 'outbox://');
    }
}
