<?php

namespace App\Jobs;

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;

/** The benchmark's hello job (benches/events): the queue's own cost, with nothing of its own. */
class Hello implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public function __construct(public string $greeting = 'hello')
    {
    }

    public function handle()
    {
    }
}
