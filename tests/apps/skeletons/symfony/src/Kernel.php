<?php

namespace App;

use App\Command\GreetingsCommand;
use App\Controller\AppController;
use App\Message\Greet;
use App\MessageHandler\GreetHandler;
use App\Messenger\OutboxTransportFactory;
use Symfony\Bundle\FrameworkBundle\Controller\RedirectController;
use Symfony\Bundle\FrameworkBundle\Kernel\MicroKernelTrait;
use Symfony\Component\DependencyInjection\Compiler\CompilerPassInterface;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\Loader\Configurator\ContainerConfigurator;
use Symfony\Component\HttpKernel\CacheWarmer\WarmableInterface;
use Symfony\Component\HttpKernel\Kernel as BaseKernel;
use Symfony\Component\Routing\Loader\Configurator\RoutingConfigurator;

class Kernel extends BaseKernel implements CompilerPassInterface, WarmableInterface
{
    use MicroKernelTrait;

    public function registerBundles(): iterable
    {
        return [
            new \Symfony\Bundle\FrameworkBundle\FrameworkBundle(),
            new \Symfony\Bundle\TwigBundle\TwigBundle(),
        ];
    }

    public function getProjectDir(): string
    {
        return \dirname(__DIR__);
    }

    // The task root is read-only on Lambda: the compiled container, Twig's compiled templates, the
    // router's dump and the logs go under $TMPDIR (/tmp on Lambda), and the first request of a fresh
    // environment builds them; unless they were built with the app (`mkdir -p var/cache/prod && php
    // bin/console cache:warmup`, as `layer-build/precompile.sh --symfony` runs it): then
    // getBuildDir() is var/cache/prod of the task root and all three are only read from there.
    // getCacheDir() stays in $TMPDIR for what is written at run time (cache pools).
    private static function tmp(): string
    {
        return rtrim(getenv('TMPDIR') ?: sys_get_temp_dir(), '/') . '/symfony';
    }

    public function getCacheDir(): string
    {
        return self::tmp() . '/cache/' . $this->environment;
    }

    public function getBuildDir(): string
    {
        $prebuilt = $this->getProjectDir() . '/var/cache/' . $this->environment;
        return is_dir($prebuilt) ? $prebuilt : $this->getCacheDir();
    }

    public function getLogDir(): string
    {
        return self::tmp() . '/log';
    }

    // What Symfony 7.1 does itself, for Symfony 5.4 to 7.0: the router's compiled matcher and generator
    // are build artefacts (kernel.build_dir), not run-time cache (kernel.cache_dir).
    public function process(ContainerBuilder $container): void
    {
        $router = $container->getDefinition('router.default');
        $options = $router->getArgument(2);
        $options['cache_dir'] = '%kernel.build_dir%';
        $router->replaceArgument(2, $options);
    }

    // Called when the container is built (by cache:warmup, or by the first request without a
    // prebuilt one), before the framework's warmers: dumps the router into the build dir. The
    // framework's own router warmer dumps into the cache dir only (before Symfony 7.1).
    public function warmUp(string $cacheDir): array
    {
        $router = $this->getContainer()->get('router');
        return $router instanceof WarmableInterface ? (array) $router->warmUp($this->getBuildDir()) : [];
    }

    protected function configureContainer(ContainerConfigurator $container): void
    {
        $container->extension('framework', [
            'secret' => '%env(APP_SECRET)%',
            'csrf_protection' => true,
            // Debian ships FullStack.php, which turns the assets default off: enable it explicitly.
            'assets' => ['enabled' => true],
            'http_method_override' => false,
            'session' => [
                // PHP's own session handler: session.save_path is under $TMPDIR (lambda-fpm's php.ini).
                'handler_id' => null,
                'storage_factory_id' => 'session.storage.factory.native',
                'cookie_secure' => 'auto',
                'cookie_samesite' => 'lax',
            ],
            'router' => ['utf8' => true],
            'php_errors' => ['log' => true],
        ]);
        $container->extension('framework', [
            'messenger' => [
                // On Lambda the transport is SQS; the suite's outbox stands in for it. No Messenger
                // retries: SQS delivers a failed message again (batchItemFailures), then to its DLQ.
                'transports' => ['async' => ['dsn' => 'outbox://', 'retry_strategy' => ['max_retries' => 0]]],
                'routing' => [Greet::class => 'async'],
            ],
        ]);
        // Compiled templates are built with the container (cache:warmup's template warmer) and read
        // from the build dir; in prod Twig never checks them against their sources (auto_reload off).
        $container->extension('twig', [
            'default_path' => '%kernel.project_dir%/templates',
            'cache' => '%kernel.build_dir%/twig',
        ]);
        $services = $container->services();
        $services->set(AppController::class)
            ->autowire()
            ->autoconfigure()
            ->tag('controller.service_arguments');
        $services->set(Greetings::class);
        $services->set(GreetHandler::class)->autowire()->autoconfigure();
        $services->set(GreetingsCommand::class)->autowire()->autoconfigure();
        $services->set(OutboxTransportFactory::class)->tag('messenger.transport_factory');
    }

    protected function configureRoutes(RoutingConfigurator $routes): void
    {
        $routes->add('home', '/')->controller([AppController::class, 'home'])->methods(['GET']);
        $routes->add('login_form', '/login')->controller([AppController::class, 'loginForm'])->methods(['GET']);
        $routes->add('login', '/login')->controller([AppController::class, 'login'])->methods(['POST']);
        $routes->add('hello', '/hello')->controller([AppController::class, 'hello'])->methods(['GET']);
        $routes->add('greet', '/greet')->controller([AppController::class, 'greet'])->methods(['GET']);
        $routes->add('greetings', '/greetings')->controller([AppController::class, 'greetings'])->methods(['GET']);
        $routes->add('old_home', '/old-home')
            ->controller(RedirectController::class)
            ->defaults(['path' => '/', 'permanent' => true]);
    }
}
