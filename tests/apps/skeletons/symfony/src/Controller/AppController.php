<?php

namespace App\Controller;

use Symfony\Bundle\FrameworkBundle\Controller\AbstractController;
use App\Greetings;
use App\Message\Greet;
use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\Messenger\MessageBusInterface;
use Symfony\Component\HttpFoundation\Response;

class AppController extends AbstractController
{
    public function home(): Response
    {
        return $this->render('home.html.twig', ['version' => \Symfony\Component\HttpKernel\Kernel::VERSION]);
    }

    public function loginForm(): Response
    {
        return $this->render('login.html.twig');
    }

    public function login(Request $request): Response
    {
        if (!$this->isCsrfTokenValid('login', (string) $request->request->get('_csrf_token'))) {
            return new Response('Invalid CSRF token', 403);
        }
        $name = trim((string) $request->request->get('name'));
        if ($name === '') {
            return $this->redirectToRoute('login_form');
        }
        // A new session id on login (session fixation), so the answer sets a new cookie.
        $request->getSession()->migrate(true);
        $request->getSession()->set('name', $name);
        return $this->redirectToRoute('hello');
    }

    /** Queued work: a message dispatched from a page (to the async transport, SQS on Lambda). */
    public function greet(Request $request, MessageBusInterface $bus): JsonResponse
    {
        $bus->dispatch(new Greet((string) $request->query->get('name', 'nobody')));
        return new JsonResponse(['queued' => 'greet']);
    }

    public function greetings(Greetings $greetings): JsonResponse
    {
        return new JsonResponse(['greetings' => $greetings->all()]);
    }

    public function hello(Request $request): Response
    {
        $name = $request->getSession()->get('name');
        if (!$name) {
            return $this->redirectToRoute('login_form');
        }
        return $this->render('hello.html.twig', ['name' => $name]);
    }
}
