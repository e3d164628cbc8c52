<?php

namespace App\Providers;

use App\Queue\OutboxQueue;
use Illuminate\Queue\Connectors\ConnectorInterface;
use Illuminate\Support\ServiceProvider;

class AppServiceProvider extends ServiceProvider
{
    public function boot()
    {
        $this->app->afterResolving('queue', function ($manager) {
            $manager->extend('outbox', fn () => new class implements ConnectorInterface {
                public function connect(array $config)
                {
                    return new OutboxQueue($config['path']);
                }
            });
        });
    }
}
