<?php

namespace App\Jobs;

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Support\Facades\DB;

/** Computes past its one-second timeout, on its only try: Laravel fails it as timed out. */
class Spin implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public $tries = 1;

    public $timeout = 1;

    public function handle()
    {
        $until = microtime(true) + 20;
        while (microtime(true) < $until) {
            hash('sha256', random_bytes(64));
        }
    }

    public function failed(\Throwable $e)
    {
        DB::table('job_failures')->insert(['name' => 'spin', 'message' => $e->getMessage()]);
    }
}
