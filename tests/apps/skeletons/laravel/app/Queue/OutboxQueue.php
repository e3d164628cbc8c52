<?php

namespace App\Queue;

use Illuminate\Contracts\Queue\Queue as QueueContract;
use Illuminate\Queue\Queue;

/**
 * The suite's stand-in for SQS: pushing a job appends the payload Laravel builds for any queue (the
 * MessageBody the sqs driver would send) to a file, from which the test makes the SQS event Lambda
 * would deliver.
 */
class OutboxQueue extends Queue implements QueueContract
{
    public function __construct(private string $path)
    {
    }

    public function size($queue = null)
    {
        return 0;
    }

    public function push($job, $data = '', $queue = null)
    {
        return $this->pushRaw($this->createPayload($job, $queue ?: 'default', $data), $queue);
    }

    public function pushRaw($payload, $queue = null, array $options = [])
    {
        file_put_contents($this->path, json_encode(['queue' => $queue ?: 'default', 'payload' => $payload]) . "\n", FILE_APPEND | LOCK_EX);
        return json_decode($payload, true)['uuid'] ?? null;
    }

    public function later($delay, $job, $data = '', $queue = null)
    {
        return $this->push($job, $data, $queue);
    }

    public function pop($queue = null)
    {
        return null;
    }
}
