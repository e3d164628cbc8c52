<?php

namespace App\Jobs;

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Support\Facades\DB;

/** Writes a greeting; the name "fail" always throws, to exercise tries, failed() and failed_jobs. */
class Greet implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public $tries = 3;

    public function __construct(public string $name)
    {
    }

    public function handle()
    {
        if ($this->name === 'fail') {
            throw new \RuntimeException("the greeting for {$this->name} failed");
        }
        DB::table('greetings')->insert(['name' => $this->name, 'via' => 'queue']);
    }

    public function failed(\Throwable $e)
    {
        DB::table('job_failures')->insert(['name' => $this->name, 'message' => $e->getMessage()]);
    }
}
