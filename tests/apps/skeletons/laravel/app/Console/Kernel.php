<?php

namespace App\Console;

use Illuminate\Console\Scheduling\Schedule;
use Illuminate\Foundation\Console\Kernel as ConsoleKernel;
use Illuminate\Support\Facades\DB;

// Besides the app's own commands, the build-time ones it uses, registered one by one (layer-build/
// precompile.sh runs config:cache and view:cache).
class Kernel extends ConsoleKernel
{
    protected $commands = [
        \Illuminate\Foundation\Console\ConfigCacheCommand::class,
        \Illuminate\Foundation\Console\ConfigClearCommand::class,
        \Illuminate\Foundation\Console\ViewCacheCommand::class,
    ];

    protected function schedule(Schedule $schedule)
    {
        // One task in PHP, one as a command (schedule:run starts `php artisan greet:scheduled`).
        $schedule->call(function () {
            DB::table('greetings')->insert(['name' => 'scheduled closure', 'via' => 'schedule']);
        })->everyMinute();
        $schedule->command('greet:scheduled')->everyMinute();
    }

    protected function commands()
    {
        $this->command('greet:scheduled', function () {
            DB::table('greetings')->insert(['name' => 'scheduled command', 'via' => 'schedule']);
            $this->info('greeted');
        });
        $this->command('greetings', function () {
            $this->line('greetings: ' . DB::table('greetings')->orderBy('id')->pluck('name')->join(', '));
        });
    }
}
