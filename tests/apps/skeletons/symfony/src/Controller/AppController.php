<?php

namespace App\Controller;

use Symfony\Bundle\FrameworkBundle\Controller\AbstractController;
use Symfony\Component\HttpFoundation\Request;
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

    public function hello(Request $request): Response
    {
        $name = $request->getSession()->get('name');
        if (!$name) {
            return $this->redirectToRoute('login_form');
        }
        return $this->render('hello.html.twig', ['name' => $name]);
    }
}
